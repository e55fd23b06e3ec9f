#!/bin/sh
# Runs inside the debootstrapped root file system (chroot) before it becomes the lab image.
# What a fresh cloud VM would have: a sudo-capable login user and sshd, no host keys baked in
# (each lab host gets its own, pinned by the controller), no apt lists (but an old mtime on
# the lists folder, so the first `apt: update_cache` with cache_valid_time really updates).
set -eu
useradd --create-home --uid 1000 --user-group --shell /bin/bash deploy
install -d -m 0700 -o deploy -g deploy /home/deploy/.ssh
printf 'deploy ALL=(ALL) NOPASSWD:ALL\n' > /etc/sudoers.d/deploy
chmod 0440 /etc/sudoers.d/deploy
rm -f /etc/ssh/ssh_host_*
cat > /etc/ssh/sshd_config.d/lab.conf <<'CONF'
HostKey /etc/ssh/ssh_host_ed25519_key
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
CONF
systemctl mask getty@tty1.service console-getty.service systemd-udevd.service >/dev/null 2>&1 || true
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
apt-get clean
rm -rf /var/lib/apt/lists/*
mkdir -p /var/lib/apt/lists/partial
touch -d 2000-01-01 /var/lib/apt/lists
