# ctest driver: install ratesim, build examples/plugin (the covariance rule) and the bad plug-ins against the
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
foreach(project covariance bad)
  if(project STREQUAL covariance)
    set(source ${SOURCE_DIR}/examples/plugin)
  else()
    set(source ${SOURCE_DIR}/tests/plugin)
  endif()
  step(${CMAKE_COMMAND} -S ${source} -B ${WORK_DIR}/${project} -DCMAKE_PREFIX_PATH=${prefix}
       -DCMAKE_BUILD_TYPE=Release)
  step(${CMAKE_COMMAND} --build ${WORK_DIR}/${project})
endforeach()

set(cli ${prefix}/bin/ratesim)
set(config ${SOURCE_DIR}/examples/plugin/covariance.toml)
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
expect(0 "ran" --plugin ${WORK_DIR}/covariance/libcovariance.so ${config})
expect(2 "unknown plasticity rule \"covariance\"" ${config})
expect(2 "cannot load it" --plugin ${WORK_DIR}/missing.so ${config})
expect(2 "not a ratesim plug-in" --plugin ${prefix}/lib/libratesim.so ${config})
expect(2 "built for plug-in ABI 999" --plugin ${WORK_DIR}/bad/libwrong_abi.so ${config})
expect(2 "built against ratesim 0.0.0-elsewhere" --plugin ${WORK_DIR}/bad/libwrong_version.so ${config})
# The same file twice (by two paths) is loaded once; another file with the same rule is refused.
expect(0 "ran" --plugin ${WORK_DIR}/covariance/libcovariance.so --plugin ${WORK_DIR}/covariance/../covariance/libcovariance.so ${config})
file(COPY_FILE ${WORK_DIR}/covariance/libcovariance.so ${WORK_DIR}/covariance/libcovariance-copy.so)
expect(2 "\"covariance\" is already registered" --plugin ${WORK_DIR}/covariance/libcovariance.so
       --plugin ${WORK_DIR}/covariance/libcovariance-copy.so ${config})
# From Python, with the package installed alongside: a notebook cell run twice.
if(PYTHON_DIR)
  execute_process(
    COMMAND ${CMAKE_COMMAND} -E env PYTHONPATH=${prefix}/${PYTHON_DIR} ${PYTHON} -c
      "import ratesim; p = '${WORK_DIR}/covariance/libcovariance.so'; ratesim.load_plugin(p); ratesim.load_plugin(p); assert 'covariance' in ratesim.rules()
try:
    ratesim.load_plugin('${WORK_DIR}/covariance/libcovariance-copy.so')
except ratesim.UsageError as e:
    assert 'already registered' in str(e), e
else:
    raise SystemExit('a second file registering covariance was accepted')"
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
# A population model, an intrinsic rule and a regime from the plug-in, from TOML: the plug-in's forward Euler
# gives the built-in ODE regime's euler traces bit for bit.
set(regime ${SOURCE_DIR}/tests/plugin/regime.toml)
set(plugin_euler ${WORK_DIR}/regime-plugin.h5)
set(ode_euler ${WORK_DIR}/regime-ode.h5)
expect(0 "" -q --plugin ${WORK_DIR}/bad/libcomponents.so ${regime} --set output.file=${plugin_euler})
expect(0 "" -q --plugin ${WORK_DIR}/bad/libcomponents.so ${regime} --set output.file=${ode_euler}
       --set run.regime=ode --set run.stepper=euler --set run.settle=false)
expect(2 "unknown population model \"rectified\"" ${regime}
       --set output.file=${WORK_DIR}/refused.h5)
# ... and the same components from Python, into a third file that must match too.
if(PYTHON_DIR)
  set(python_euler ${WORK_DIR}/regime-python.h5)
  step(${CMAKE_COMMAND} -E env PYTHONPATH=${prefix}/${PYTHON_DIR} ${PYTHON} -c "import ratesim
ratesim.load_plugin('${WORK_DIR}/bad/libcomponents.so')
for kind, name in [(ratesim.regimes, 'forward_euler'), (ratesim.population_models, 'rectified'),
                   (ratesim.intrinsic_rules, 'adaptation'),
                   (ratesim.stimulus_sources, 'ramp'), (ratesim.weight_initializers, 'eye'),
                   (ratesim.record_kinds, 'rate_sum')]:
    assert name in kind(), (name, kind())
net = ratesim.Network()
net.add_population('rectified', 'x', size=3, tau=2.0)
net.add_population('rectified', 'y', size=3)
net.adapt('y', 'adaptation', tau=4.0)
net.stimulate('x', 'ramp', count=3, step=1.0, duration=1.0)
W = ratesim.initial_weights(net, 'x', 'y', 'eye', value=2.0, off=0.25)
net.connect('x', 'y', 'xy', W, current='linear')
sim = ratesim.simulation(net, 'forward_euler', dt=0.1)
rec = ratesim.Recorder('${python_euler}', mode='overwrite')
rec.record('y', 'u', every_steps=1)
rec.record('y', 'a', every_steps=1)
rec.record_kind(net, 'rate_sum', population='x', every=0.5)
sim.attach(rec)
sim.run(6.0)
del sim, rec")
else()
  set(python_euler ${plugin_euler})
endif()
step(${PYTHON} -c "import h5py, numpy as np
def traces(path):
    with h5py.File(path, 'r') as f:
        return {k: f[k][:] for k in ['y/u/data', 'y/u/time', 'y/a/data', 'metrics/rate_sum_x/data']}
a, b, c = (traces(p) for p in ['${plugin_euler}', '${ode_euler}', '${python_euler}'])
for k in a:
    assert a[k].shape == b[k].shape == c[k].shape, (k, a[k].shape, b[k].shape, c[k].shape)
    assert np.array_equal(a[k], b[k]) and np.array_equal(a[k], c[k]), (k, a[k], b[k], c[k])
u = a['y/u/data']
assert len(u) == 61 and np.all(u[0] == 0) and u[-1, 0] > 0.5, u
# The adaptation follows y's rates: a(t) > 0 once y fires, below the largest rate so far.
adapt = a['y/a/data']
assert np.all(adapt[0] == 0) and np.all(adapt[-1] > 0) and np.all(adapt[-1] < u.max(axis=0)), adapt
# x relaxes towards the ramp (1, 2, 3, then 1 again): its rate sum rises within a pattern.
s = a['metrics/rate_sum_x/data'].ravel()
assert s[1] > s[0] and s[2] > s[1], s")

message(STATUS "plug-in loaded, used and refused where it must be")
