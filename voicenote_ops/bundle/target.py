"""The hosts' interpreter and platform that a bundle's wheelhouse is downloaded for."""

# Debian 12: CPython 3.11 on x86_64 with glibc 2.36.
PYTHON_VERSION = "3.11"
PYTHON_TAG = "cp311"
GLIBC = (2, 36)
ARCH = "x86_64"
# manylinux2014 is glibc 2.17; older wheels than that are not worth shipping.
OLDEST_GLIBC_MINOR = 17


def platform_tags() -> list[str]:
    """Every manylinux tag the hosts accept; pip does not expand a single manylinux_2_Y tag."""
    major, newest_minor = GLIBC
    minors = range(newest_minor, OLDEST_GLIBC_MINOR - 1, -1)
    tags = [f"manylinux_{major}_{minor}_{ARCH}" for minor in minors]
    return [*tags, f"manylinux2014_{ARCH}"]


def pip_download_target_args() -> list[str]:
    platforms = [arg for tag in platform_tags() for arg in ("--platform", tag)]
    return [
        "--only-binary=:all:",
        *platforms,
        "--python-version",
        PYTHON_VERSION,
        "--implementation",
        "cp",
        "--abi",
        PYTHON_TAG,
    ]
