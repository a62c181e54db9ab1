"""Every script in scripts/ explains itself with --help (and -h): usage on stdout, exit 0,
nothing built, installed or fetched."""

import os
import subprocess
import sys
import tempfile
import unittest

SCRIPTS = os.path.join(os.environ.get("RATESIM_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..")),
                       "scripts")


class Help(unittest.TestCase):
    def test_every_script_prints_its_usage_and_does_nothing_else(self):
        scripts = sorted(f for f in os.listdir(SCRIPTS) if os.access(os.path.join(SCRIPTS, f), os.X_OK)
                         or f.endswith(".py"))
        self.assertGreaterEqual(len(scripts), 8)
        for name in scripts:
            for flag in ("--help", "-h"):
                with self.subTest(script=name, flag=flag), tempfile.TemporaryDirectory() as scratch, \
                        tempfile.TemporaryDirectory() as tools:
                    # Should a script ignore --help, it fails at once instead of building,
                    # installing or fetching: these tools come first on its PATH.
                    for tool in ("cmake", "ctest", "npm", "apt-get", "sudo", "make", "c++"):
                        with open(os.path.join(tools, tool), "w") as f:
                            f.write(f"#!/bin/sh\necho '{tool} called' >&2\nexit 97\n")
                        os.chmod(os.path.join(tools, tool), 0o755)
                    build = os.path.join(scratch, "build")
                    command = [os.path.join(SCRIPTS, name), flag]
                    if name.endswith(".py"):
                        command.insert(0, sys.executable)
                    env = dict(os.environ, RATESIM_BUILD_DIR=build, PATH=tools + os.pathsep + os.environ["PATH"])
                    done = subprocess.run(command, capture_output=True, text=True, timeout=30, cwd=scratch, env=env)
                    self.assertEqual(done.returncode, 0, done.stderr)
                    self.assertIn(f"scripts/{name}", done.stdout)  # how to call it
                    self.assertFalse(os.path.exists(build), "it started a build")
                    self.assertEqual(os.listdir(scratch), [])


if __name__ == "__main__":
    unittest.main()
