# GPAW build configuration used by scripts/bootstrap.sh (Debian: libxc-dev libopenblas-dev libfftw3-dev).
compiler = "g++"
fftw = True
libraries += ["fftw3", "openblas"]  # noqa: F821
