#!/bin/sh
# Runs inside the debootstrapped root file system (chroot) before it becomes the app images'
# base layer: the user the app runs as (never root), and nothing that differs between two
# builds of the same packages (logs, caches, apt lists, the machine id).
set -eu
# shadow's tools date their records from it: the same day in every build.
export SOURCE_DATE_EPOCH=1580601600
groupadd --system --gid 10001 voicenote
useradd --system --uid 10001 --gid voicenote --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin voicenote
: > /etc/machine-id
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/ldconfig/aux-cache /var/cache/debconf/*-old \
    /var/lib/dpkg/*-old /etc/*-
find /var/log -type f -delete
