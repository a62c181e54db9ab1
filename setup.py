"""pip install . : builds the Python module with CMake and installs the package ratesim.

Offline, with Debian's packages (python3-setuptools, python3-wheel, python3-pip and the
build dependencies of scripts/bootstrap), in a venv made with --system-site-packages:

    pip install --no-build-isolation .

CMake builds in build-python/ (or in the already configured build folder that
RATESIM_BUILD_DIR names, which saves a second build). The wheel carries libratesim next to
the module; ratesim/__init__.py loads that copy first.
"""

import os
import re
import shutil
import subprocess
import sys
import sysconfig

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.abspath(os.environ.get("RATESIM_BUILD_DIR") or os.path.join(HERE, "build-python"))


def version():
    """The project's version, from its one source: CMakeLists.txt."""
    with open(os.path.join(HERE, "CMakeLists.txt"), encoding="utf-8") as f:
        return re.search(r"project\(ratesim VERSION ([0-9.]+)", f.read()).group(1)


def run(*command):
    print(" ".join(command), flush=True)
    subprocess.run(command, check=True)


class CMakeBuild(build_ext):
    """Builds ratesim._core with CMake instead of compiling sources itself."""

    def build_extension(self, ext):
        if not os.path.exists(os.path.join(BUILD, "CMakeCache.txt")):
            run("cmake", "-S", HERE, "-B", BUILD, "-DCMAKE_BUILD_TYPE=Release",
                "-DRATESIM_BUILD_TESTS=OFF", "-DRATESIM_BUILD_EXAMPLES=OFF",
                "-DRATESIM_BUILD_BENCHMARKS=OFF", "-DRATESIM_BUILD_PYTHON=ON",
                f"-DPython3_EXECUTABLE={sys.executable}")
        run("cmake", "--build", BUILD, "--target", "ratesim_python", "-j", str(os.cpu_count() or 1))
        # cmake --install gives the module its install RPATH in place of the build tree's.
        stage = os.path.join(self.build_temp, "stage")
        shutil.rmtree(stage, ignore_errors=True)
        run("cmake", "--install", BUILD, "--component", "python", "--prefix", stage)
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        built = [os.path.join(d, f) for d, _, files in os.walk(stage) for f in files if f.startswith("_core")]
        if len(built) != 1 or not built[0].endswith(suffix):
            sys.exit(f"setup.py: {BUILD} holds {built or 'no module'}, not a module for this Python "
                     f"(*{suffix}); configure it with -DPython3_EXECUTABLE={sys.executable}")
        target = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(built[0], target)
        # The shared library the module links against, under its soname (a wheel holds no
        # symbolic links).
        library_list = os.path.join(BUILD, "python", "library.txt")
        if os.path.exists(library_list):
            with open(library_list, encoding="utf-8") as f:
                library = f.read().strip()
            shutil.copyfile(library, os.path.join(os.path.dirname(target), os.path.basename(library)))


# setuptools' own files go to the CMake build folder, not into the source tree.
os.makedirs(os.path.join(BUILD, "setuptools"), exist_ok=True)
setup(
    version=version(),
    packages=["ratesim"],
    package_dir={"": "python"},
    ext_modules=[Extension("ratesim._core", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    options={
        "build": {"build_base": os.path.join(BUILD, "setuptools")},
        "egg_info": {"egg_base": os.path.join(BUILD, "setuptools")},
    },
    zip_safe=False,
)
