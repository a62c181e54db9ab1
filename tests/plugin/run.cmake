# ctest driver: install ratesim, build examples/plugin (BCM) and the bad plug-ins against the
# installed package, then run the installed `ratesim run --plugin` and check what it says.
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
function(step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "step failed (${result}): ${ARGN}\n${out}")
  endif()
endfunction()
step(${CMAKE_COMMAND} --install ${RATESIM_BINARY_DIR} --prefix ${prefix})
foreach(project bcm bad)
  if(project STREQUAL bcm)
    set(source ${SOURCE_DIR}/examples/plugin)
  else()
    set(source ${SOURCE_DIR}/tests/plugin)
  endif()
  step(${CMAKE_COMMAND} -S ${source} -B ${WORK_DIR}/${project} -DCMAKE_PREFIX_PATH=${prefix}
       -DCMAKE_BUILD_TYPE=Release)
  step(${CMAKE_COMMAND} --build ${WORK_DIR}/${project})
endforeach()

set(cli ${prefix}/bin/ratesim)
set(config ${SOURCE_DIR}/examples/plugin/bcm.toml)
# expect(<exit code> <text in the output or "">, arguments...)
function(expect code text)
  execute_process(COMMAND ${cli} run ${ARGN} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT result EQUAL code)
    message(FATAL_ERROR "ratesim run ${ARGN}: exit ${result}, expected ${code}\n${out}")
  endif()
  if(text AND NOT out MATCHES "${text}")
    message(FATAL_ERROR "ratesim run ${ARGN}: output lacks \"${text}\":\n${out}")
  endif()
endfunction()
expect(0 "ran" --plugin ${WORK_DIR}/bcm/libbcm.so ${config})
expect(2 "unknown plasticity rule \"bcm\"" ${config})
expect(2 "cannot load it" --plugin ${WORK_DIR}/missing.so ${config})
expect(2 "not a ratesim plug-in" --plugin ${prefix}/lib/libratesim.so ${config})
expect(2 "built for plug-in ABI 999" --plugin ${WORK_DIR}/bad/libwrong_abi.so ${config})
expect(2 "built against ratesim 0.0.0-elsewhere" --plugin ${WORK_DIR}/bad/libwrong_version.so ${config})
# The same file twice (by two paths) is loaded once; another file with the same rule is refused.
expect(0 "ran" --plugin ${WORK_DIR}/bcm/libbcm.so --plugin ${WORK_DIR}/bcm/../bcm/libbcm.so ${config})
file(COPY_FILE ${WORK_DIR}/bcm/libbcm.so ${WORK_DIR}/bcm/libbcm-copy.so)
expect(2 "\"bcm\" is already registered" --plugin ${WORK_DIR}/bcm/libbcm.so
       --plugin ${WORK_DIR}/bcm/libbcm-copy.so ${config})
# From Python, with the package installed alongside: a notebook cell run twice.
if(PYTHON_DIR)
  execute_process(
    COMMAND ${CMAKE_COMMAND} -E env PYTHONPATH=${prefix}/${PYTHON_DIR} ${PYTHON} -c
      "import ratesim; p = '${WORK_DIR}/bcm/libbcm.so'; ratesim.load_plugin(p); ratesim.load_plugin(p); assert 'bcm' in ratesim.rules()
try:
    ratesim.load_plugin('${WORK_DIR}/bcm/libbcm-copy.so')
except ratesim.UsageError as e:
    assert 'already registered' in str(e), e
else:
    raise SystemExit('a second file registering bcm was accepted')"
    RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "load_plugin from Python: ${out}")
  endif()
endif()

# A stimulus source, a weight initialiser and a record kind from a plug-in, used from TOML:
# y = 2 x under patterns of 1, 2, 3 on each of 3 units, so y's rates sum to 6, 12, 18.
set(components ${SOURCE_DIR}/tests/plugin/components.toml)
set(h5 ${WORK_DIR}/components.h5)
expect(0 "" -q --plugin ${WORK_DIR}/bad/libcomponents.so ${components} --set output.file=${h5})
expect(2 "unknown stimulus source \"ramp\"; known: bars, constant, file" ${components}
       --set output.file=${h5})
step(${PYTHON} -c "import h5py, numpy as np
with h5py.File('${h5}', 'r') as f:
    sums = f['metrics/rate_sum_y/data'][:].ravel()
    time = f['metrics/rate_sum_y/time'][:]
assert list(time) == [0, 1, 2, 3, 4], time
assert list(sums[1:]) == [6, 12, 18, 6], sums")
message(STATUS "plug-in loaded, used and refused where it must be")
