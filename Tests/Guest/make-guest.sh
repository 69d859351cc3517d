#!/usr/bin/env bash
# Makes the cgroup v2 test guest: Debian's kernel (taken with apt-get
# download and dpkg-deb -x, so the host's boot is untouched) and a small
# initramfs (busybox-static and the 9p/virtio modules) whose init mounts the
# host's root read-only over virtio-9p, cgroup2 on /sys/fs/cgroup, tmpfs
# where the guest writes, and runs the command the host left in its shared
# directory. Cached outside the clone under a digest of this recipe: CI pays
# for it once per machine. Prints the cache directory.
set -euo pipefail
recipe=$(sha256sum "$0" | cut -c1-16)
cache=${KILN_GUEST_CACHE:-/var/cache/kiln-test-guest}/$recipe
if [ -f "$cache/ready" ]; then echo "$cache"; exit 0; fi
rm -rf "$cache.tmp" && mkdir -p "$cache.tmp" && cd "$cache.tmp"
package=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ { print $2; exit }')
[ -n "$package" ] || { apt-get update -qq; package=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ { print $2; exit }'); }
apt-get download "$package" >/dev/null 2>&1
dpkg-deb -x ./*.deb kernel
version=$(ls kernel/lib/modules)
cp kernel/boot/vmlinuz-"$version" vmlinuz
mkdir -p initramfs/bin initramfs/modules initramfs/proc initramfs/sys initramfs/dev initramfs/host
cp /bin/busybox initramfs/bin/busybox
modules=(drivers/virtio/virtio drivers/virtio/virtio_ring drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci_modern_dev
         drivers/virtio/virtio_pci fs/netfs/netfs fs/fscache/fscache net/9p/9pnet net/9p/9pnet_virtio fs/9p/9p)
for module in "${modules[@]}"; do
  file=$(ls kernel/lib/modules/"$version"/kernel/"$module".ko* 2>/dev/null | head -n 1)
  [ -n "$file" ] || continue
  case "$file" in *.xz) xz -dc "$file" > initramfs/modules/"$(basename "$module")".ko ;; *) cp "$file" initramfs/modules/"$(basename "$module")".ko ;; esac
  echo "$(basename "$module")" >> initramfs/modules/order
done
cat > initramfs/init <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
# Loopback only: the sandbox's network test listens on 127.0.0.1; the guest has no other interface.
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
# Three passes: a module whose dependency comes later in the list loads on the next one.
for pass in 1 2 3; do for module in $(cat /modules/order); do grep -q "^$module " /proc/modules || insmod /modules/$module.ko 2>/dev/null; done; done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=1048576 hostroot /host || { echo "guest: cannot mount the host's root"; poweroff -f; }
# The host's /tmp stays visible (a checkout may live there); the guest writes on tmpfs in /run and /var/tmp only.
mount -t tmpfs run /host/run; mount -t tmpfs vartmp /host/var/tmp
mount -t proc proc /host/proc; mount -t sysfs sys /host/sys; mount -t devtmpfs dev /host/dev
mount -t cgroup2 cgroup2 /host/sys/fs/cgroup
work=/run/kiln-work
mkdir -p /host$work && mount -t 9p -o trans=virtio,version=9p2000.L,msize=1048576 work /host$work
echo "guest: up after $(cut -d' ' -f1 /proc/uptime) s, cgroup2 controllers: $(cat /host/sys/fs/cgroup/cgroup.controllers)"
# switch_root, not chroot: the kernel refuses new user namespaces (bubblewrap's) to a chrooted process.
exec switch_root /host /bin/sh -c "cd $work && sh ./guest-command > ./guest-output 2>&1; echo \$? > ./guest-status; sync; \
  echo \"guest: done after \$(cut -d' ' -f1 /proc/uptime) s\"; /bin/busybox poweroff -f"
INIT
chmod 755 initramfs/init
(cd initramfs && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) > initramfs.gz
rm -rf kernel initramfs ./*.deb
touch ready
cd / && rm -rf "$cache" && mv "$cache.tmp" "$cache"
echo "$cache"
