#pragma once
// The one error hierarchy of ratesim. Every message names the component, the parameter
// (or variable) and the offending value, so that a user can find the mistake in their
// script without a debugger.

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <string_view>

namespace ratesim {

// Base of every error ratesim raises on purpose. Besides its message it keeps the fields
// the message was composed from, where the thrower knew them, so that callers decide
// from fields, never from message text (the experiment loader finds the line of a bad
// parameter from `parameter()`).
class error : public std::runtime_error {
 public:
  struct fields {
    std::string component;  // e.g. `feedforward_inhibition "input"`
    std::string parameter;  // e.g. `A`
    std::string value;      // the offending value, as text
  };
  using std::runtime_error::runtime_error;
  error(const std::string& message, fields f)
      : std::runtime_error(message), fields_(std::move(f)) {}
  const std::string& component() const { return fields_.component; }
  const std::string& parameter() const { return fields_.parameter; }
  const std::string& value() const { return fields_.value; }

 private:
  fields fields_;
};

// A parameter outside its valid range: `component "name": A must be > D = 25, got 20`.
class parameter_error : public error {
 public:
  using error::error;
};

// Data that cannot be used: a negative pixel, a NaN, a pattern of the wrong size.
class input_error : public error {
 public:
  using error::error;
};

// Bad data read from a file (an IDX or HDF5 file, or a pattern in it that the population
// it drives rejects), as opposed to bad values written in a description. Building an
// experiment, the loader turns other input errors into config errors (a mistake in the
// file, exit 2) and keeps these input errors (bad data, exit 3).
class data_error : public input_error {
 public:
  using input_error::input_error;
};

// A name that is not registered or not part of the network.
class lookup_error : public error {
 public:
  using error::error;
};

// A call that is not allowed in the current state (e.g. adding to a running network).
class usage_error : public error {
 public:
  using error::error;
};

// The simulation produced a NaN or an infinity; the message names the component, the
// variable, the unit and the simulated time.
class numerical_error : public error {
 public:
  using error::error;
};

// A mistake in an experiment's description (a config file or a --set override); the
// message starts with where it is: `run.toml:12:7: projection "ff": rule ...`.
class config_error : public usage_error {
 public:
  using usage_error::usage_error;
};

// `component` is e.g. `feedforward_inhibition "input"`, `expected` e.g. `> 0`.
template <class Value>
[[noreturn]] void throw_parameter_error(std::string_view component, std::string_view parameter,
                                        std::string_view expected, const Value& value) {
  const std::string text = fmt::format("{}", value);
  throw parameter_error(fmt::format("{}: {} must be {}, got {}", component, parameter, expected, text),
                        {std::string(component), std::string(parameter), text});
}

// Checks a time constant or duration [ms]: finite and strictly positive.
void require_positive(std::string_view component, std::string_view parameter, double value);

// Internal invariants: on in debug builds and with RATESIM_ENABLE_ASSERTS, off otherwise.
#if defined(RATESIM_ENABLE_ASSERTS) || !defined(NDEBUG)
#define RATESIM_ASSERT(condition)                                                      \
  do {                                                                                 \
    if (!(condition)) ::ratesim::detail::assertion_failed(#condition, __FILE__, __LINE__); \
  } while (false)
#else
#define RATESIM_ASSERT(condition) \
  do {                            \
  } while (false)
#endif

namespace detail {
[[noreturn]] void assertion_failed(const char* condition, const char* file, int line);
}

}  // namespace ratesim
