"""ratesim's Python tooling.

`ratesim.traces` reads the HDF5 files that ratesim's recorders write; it needs only numpy
and h5py.
"""
