#!/usr/bin/env bash
# The admin's and the plugin vendor's path, from this build's packages (see packaging/README.md):
#   1. cpack writes skiff + skiff-dev .deb and skiff + skiff-devel .rpm; sizes are printed;
#   2. lintian finds no errors in either .deb (its warnings are printed);
#   3. both .deb are installed with dpkg into an empty root of this test's own (timed), and systemd
#      verifies the installed skiffd.service there;
#   4. examples/avoid-node-label, copied out of the tree, is built against that root's SDK alone and
#      installed into that root's plugin directory;
#   5. the root's skiffd.conf enables it; the root's skiffd starts (127.0.0.1, its own port and data
#      dir) and, through the real kubectl, keeps pods off the labelled node;
#   6. the rpm: its file list, its config files, and an install into a second temporary root.
# Usage: packaging_test.sh BUILD_DIR SOURCE_DIR. Fails (never skips) when a tool is missing.
set -euo pipefail
# Under pipefail, `cmd | grep -q` fails when grep exits at its first match and cmd then dies of
# SIGPIPE writing the rest (it did, once, on a loaded machine): such checks read the output whole.

build=$(realpath "$1")
src=$(realpath "$2")
say() { echo "packaging_test: $*"; }
fail() { echo "packaging_test: FAIL: $*" >&2; exit 1; }

for tool in cpack cmake dpkg dpkg-deb dpkg-shlibdeps lintian rpm rpmbuild help2man nm python3 systemd-analyze kubectl; do
  command -v "$tool" >/dev/null || fail "'$tool' is not installed (scripts/install-deps.sh installs it; kubectl is preinstalled)"
done
[ "$(id -u)" -eq 0 ] || fail "must run as root (dpkg --root keeps file owners; CI runs as root)"

work=$(mktemp -d /tmp/skiff-packaging.XXXXXX)
skiffd_pid=""
cleanup() {
  if [ -n "$skiffd_pid" ] && kill -0 "$skiffd_pid" 2>/dev/null; then
    kill "$skiffd_pid"
    for _ in $(seq 1 50); do kill -0 "$skiffd_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$skiffd_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# ---- 1. the packages ----
# Packages are made from what the build produced; these targets are what they hold (no-op after a full build).
cmake --build "$build" --target skiffd skiff skiff_all_plugins skiff_package_docs -- -j2 >/dev/null
(cd "$work" && cpack --config "$build/CPackConfig.cmake" -G "DEB;RPM" -B "$work/out" >"$work/cpack.log" 2>&1) ||
  { cat "$work/cpack.log"; fail "cpack failed"; }
shopt -s nullglob
debs=("$work"/out/skiff_*.deb); devdebs=("$work"/out/skiff-dev_*.deb)
rpms=("$work"/out/skiff-[0-9]*.rpm); devrpms=("$work"/out/skiff-devel-*.rpm)
[ ${#debs[@]} -eq 1 ] && [ ${#devdebs[@]} -eq 1 ] || fail "expected one skiff and one skiff-dev .deb in $work/out: $(ls "$work/out")"
[ ${#rpms[@]} -eq 1 ] && [ ${#devrpms[@]} -eq 1 ] || fail "expected one skiff and one skiff-devel .rpm in $work/out: $(ls "$work/out")"
deb=${debs[0]}; devdeb=${devdebs[0]}; rpm_file=${rpms[0]}; devrpm=${devrpms[0]}
say "package sizes (bytes):"
for f in "$deb" "$devdeb" "$rpm_file" "$devrpm"; do printf '  %10d  %s\n' "$(stat -c %s "$f")" "$(basename "$f")"; done
say "installed size of skiff (KiB): $(dpkg-deb -f "$deb" Installed-Size)"

# Version from one place: the project's, in every package name.
version=$(sed -n 's/^project(skiff VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[ -n "$version" ] || fail "no project(skiff VERSION …) in $src/CMakeLists.txt"
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "skiff .deb version $(dpkg-deb -f "$deb" Version) != project version $version"
[ "$(rpm -qp --qf '%{VERSION}' "$rpm_file")" = "$version" ] || fail "rpm version differs from the project version $version"
# Shared-library dependencies come from dpkg-shlibdeps, not from a hand-written list.
depends=$(dpkg-deb -f "$deb" Depends)
say "skiff Depends: $depends"
for lib in libc6 libstdc++6 libsqlite3-0 libnng1 libcurl4 libtcmalloc-minimal4 libmbedx509-1 libyaml-cpp0.7 libnftnl11 libmnl0; do
  grep -q "$lib" <<<"$depends" || fail "skiff's Depends lacks $lib (shlibdeps): $depends"
done
grep -q "skiff (= $version)" <<<"$(dpkg-deb -f "$devdeb" Depends)" || fail "skiff-dev must depend on skiff (= $version): $(dpkg-deb -f "$devdeb" Depends)"
# Each package's own synopsis (the Description's first line), not one shared by both.
[ "$(dpkg-deb -f "$deb" Description | head -1)" = "Kubernetes-compatible container orchestrator" ] ||
  fail "skiff's synopsis is '$(dpkg-deb -f "$deb" Description | head -1)'"
[ "$(dpkg-deb -f "$devdeb" Description | head -1)" = "Skiff plugin SDK: headers and CMake package" ] ||
  fail "skiff-dev's synopsis is '$(dpkg-deb -f "$devdeb" Description | head -1)'"
grep -qx /etc/skiff/skiffd.conf <<<"$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)" || fail "/etc/skiff/skiffd.conf is not a conffile"

# ---- 2. lintian ----
lintian --tag-display-limit 0 "$deb" "$devdeb" >"$work/lintian.log" 2>&1 || true
say "lintian says:"; sed 's/^/  /' "$work/lintian.log"
if grep -q '^E: ' "$work/lintian.log"; then fail "lintian reports errors (above)"; fi

# ---- 3. install into an empty root ----
root=$work/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/log"
touch "$root/var/lib/dpkg/status"
# --force-depends: the root holds only these packages; their libraries come from the host, which is
# the same Debian release. The packages have no maintainer scripts, so nothing needs a chroot.
start=$(date +%s.%N)
dpkg --root="$root" --force-depends -i "$deb" "$devdeb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -i failed"; }
end=$(date +%s.%N)
say "install time (dpkg --root=ROOT --force-depends -i both .deb): $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }') s"
grep -q '^Status: install ok installed' <<<"$(dpkg --root="$root" -s skiff)" || fail "skiff not installed in $root"
grep -q '^ /etc/skiff/skiffd.conf ' <<<"$(dpkg --root="$root" -s skiff)" || fail "dpkg did not record the conffile"
for f in usr/bin/skiffd usr/bin/skiff etc/skiff/skiffd.conf lib/systemd/system/skiffd.service usr/share/man/man1/skiffd.1.gz \
         usr/lib/skiff/plugins/libskiff-store-sqlite.so usr/lib/skiff/plugins/libskiff-scheduler-nodename.so \
         usr/include/skiff/plugin/abi.hpp usr/include/skiff/plugin/abi_tag.hpp usr/share/cmake/Skiff/SkiffConfig.cmake; do
  [ -e "$root/$f" ] || fail "/$f is missing from the installed packages"
done
[ -d "$root/var/lib/skiff" ] || fail "/var/lib/skiff is missing"
# The unit as systemd reads it, inside the root (so ExecStart must name the installed skiffd). Parse
# problems are printed without changing the exit status, hence the check for any output at all.
unit_check=$(systemd-analyze verify --man=no --recursive-errors=no --root="$root" skiffd.service 2>&1) ||
  fail "systemd-analyze verify skiffd.service failed: $unit_check"
[ -z "$unit_check" ] || fail "systemd-analyze verify skiffd.service complains: $unit_check"
[ "$(stat -c %a "$root/var/lib/skiff")" = 700 ] || fail "/var/lib/skiff should be mode 0700"

# ---- 4. the third-party plugin, against the installed SDK alone ----
cp -r "$src/examples/avoid-node-label" "$work/example-src"
cmake -S "$work/example-src" -B "$work/example-build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$root/usr" \
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >"$work/example.log" 2>&1 || { cat "$work/example.log"; fail "configuring the example failed"; }
grep -q "$src" "$work/example-build/compile_commands.json" &&
  fail "the example's compile commands reach into the source tree $src: $(grep -o "[^ \"]*$src[^ \"]*" "$work/example-build/compile_commands.json" | head -3)"
grep -q -- "-I$root/usr/include\|-isystem $root/usr/include" "$work/example-build/compile_commands.json" ||
  fail "the example is not compiled against $root/usr/include"
cmake --build "$work/example-build" -j2 >>"$work/example.log" 2>&1 || { cat "$work/example.log"; fail "building the example failed"; }
cmake --install "$work/example-build" --prefix "$root/usr" >>"$work/example.log" 2>&1 || { cat "$work/example.log"; fail "installing the example failed"; }
plugin=$root/usr/lib/skiff/plugins/libskiff-scheduler-avoid_node_label.so
[ -f "$plugin" ] || fail "the example did not install $plugin"
# Hidden visibility: the module's dynamic symbol table exports the entry alias and nothing of its own code.
exported=$(nm -D --defined-only "$plugin" | awk '{print $3}')
grep -qx skiff_plugin_entry <<<"$exported" || fail "$plugin does not export skiff_plugin_entry"
if grep -q 'avoid_node_label' <<<"$exported"; then fail "$plugin exports its internals: $exported"; fi
"$root/usr/bin/skiff" plugins --plugin-dir "$root/usr/lib/skiff/plugins" >"$work/plugins.txt" 2>&1 ||
  { cat "$work/plugins.txt"; fail "skiff plugins failed"; }
grep -q 'avoid_node_label' "$work/plugins.txt" || { cat "$work/plugins.txt"; fail "skiff plugins does not list avoid_node_label"; }

# ---- 5. enable it in the installed config and run the installed skiffd ----
conf=$root/etc/skiff/skiffd.conf
sed -i 's/^# filters = \(.*\)$/filters = \1/' "$conf"
grep -q '^filters = .*avoid_node_label' "$conf" || fail "the shipped skiffd.conf has no commented filters line to enable"
printf '\n[scheduler.filter.avoid_node_label]\nlabel = skiff.test/avoid=yes\n' >>"$conf"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
data=$work/data
"$root/usr/bin/skiffd" --config "$conf" --data-dir "$data" --listen "127.0.0.1:$port" >"$work/skiffd.log" 2>&1 &
skiffd_pid=$!
for _ in $(seq 1 200); do
  grep -q 'msg=ready' "$work/skiffd.log" && break
  kill -0 "$skiffd_pid" 2>/dev/null || { cat "$work/skiffd.log"; fail "the installed skiffd exited"; }
  sleep 0.1
done
grep -q 'msg=ready' "$work/skiffd.log" || { tail -30 "$work/skiffd.log"; fail "the installed skiffd did not report ready in 20 s"; }
grep -q "plugin_dir=$root/usr/lib/skiff/plugins" "$work/skiffd.log" ||
  { grep plugin_dir "$work/skiffd.log"; fail "skiffd did not default its plugin-dir to the installed plugins"; }
k() { kubectl --kubeconfig "$data/kubeconfig" --cache-dir "$work/kube-cache" "$@"; }
cat >"$work/cluster.yaml" <<'YAML'
apiVersion: v1
kind: Node
metadata:
  name: labelled
  labels: {skiff.test/avoid: "yes"}
status:
  capacity: {cpu: "64", memory: 64Gi, pods: "110"}
  allocatable: {cpu: "64", memory: 64Gi, pods: "110"}
  conditions: [{type: Ready, status: "True"}]
---
apiVersion: v1
kind: Node
metadata:
  name: plain
status:
  capacity: {cpu: "1", memory: 1Gi, pods: "110"}
  allocatable: {cpu: "1", memory: 1Gi, pods: "110"}
  conditions: [{type: Ready, status: "True"}]
YAML
# Pods created after both nodes exist. Least-allocated scoring alone would prefer the much larger
# labelled node, so pods that land on "plain" are there because the filter said no.
k apply -f "$work/cluster.yaml" >/dev/null
for i in 1 2 3 4; do
  printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: free-%s}\nspec:\n  containers: [{name: c, image: busybox, resources: {requests: {cpu: 100m, memory: 64Mi}}}]\n' "$i"
  echo ---
done >"$work/pods.yaml"
# A pod that may only go to the labelled node: the filter must leave it pending, with its reason.
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: pinned}\nspec:\n  nodeSelector: {skiff.test/avoid: "yes"}\n  containers: [{name: c, image: busybox}]\n' >>"$work/pods.yaml"
k apply -f "$work/pods.yaml" >/dev/null
for i in 1 2 3 4; do
  node=""
  for _ in $(seq 1 100); do
    node=$(k get pod "free-$i" -o 'jsonpath={.spec.nodeName}')
    [ -n "$node" ] && break
    sleep 0.1
  done
  [ "$node" = plain ] || { tail -20 "$work/skiffd.log"; fail "pod free-$i went to '$node', expected plain"; }
done
reason=""
for _ in $(seq 1 100); do
  reason=$(k get pod pinned -o 'jsonpath={.status.conditions[?(@.type=="PodScheduled")].message}')
  [ -n "$reason" ] && break
  sleep 0.1
done
grep -q 'had the avoided label skiff.test/avoid=yes' <<<"$reason" || fail "pod pinned: expected the plugin's reason, got '$reason'"
[ -z "$(k get pod pinned -o 'jsonpath={.spec.nodeName}')" ] || fail "pod pinned was bound despite the filter"
say "the installed skiffd with the example plugin kept pods off the labelled node: pinned pod says '$reason'"
kill "$skiffd_pid"; wait "$skiffd_pid" 2>/dev/null || true; skiffd_pid=""
# The conffile promise: installing the package again (as an upgrade would) keeps the admin's edits.
dpkg --root="$root" --force-depends -i "$deb" </dev/null >"$work/dpkg-again.log" 2>&1 ||
  { cat "$work/dpkg-again.log"; fail "reinstalling skiff failed"; }
grep -q '^\[scheduler.filter.avoid_node_label\]' "$conf" || fail "reinstalling skiff overwrote the edited $conf"

# ---- 6. the rpm ----
rpm -qlp "$rpm_file" >"$work/rpm-files.txt"
for f in /usr/bin/skiffd /usr/bin/skiff /etc/skiff/skiffd.conf /lib/systemd/system/skiffd.service /var/lib/skiff \
         /usr/lib/skiff/plugins/libskiff-store-sqlite.so /usr/share/man/man1/skiffd.1.gz; do
  grep -qx "$f" "$work/rpm-files.txt" || fail "$f is not in $(basename "$rpm_file")"
done
grep -qx /etc/skiff/skiffd.conf <<<"$(rpm -qcp "$rpm_file")" || fail "/etc/skiff/skiffd.conf is not %config in the rpm"
grep -qx /usr/share/cmake/Skiff/SkiffConfig.cmake <<<"$(rpm -qlp "$devrpm")" || fail "the devel rpm lacks SkiffConfig.cmake"
rpmroot=$work/rpmroot
mkdir -p "$rpmroot"
rpm --root "$rpmroot" --initdb
# --nodeps: the temporary root has no glibc or libstdc++ packages to satisfy the rpm's requirements.
rpm --root "$rpmroot" -i --nodeps "$rpm_file" "$devrpm" >"$work/rpm.log" 2>&1 || { cat "$work/rpm.log"; fail "rpm -i failed"; }
rpm --root "$rpmroot" -q skiff skiff-devel >/dev/null || fail "rpm does not list skiff and skiff-devel as installed"
for f in usr/bin/skiffd usr/lib/skiff/plugins/libskiff-store-sqlite.so etc/skiff/skiffd.conf usr/include/skiff/plugin/abi.hpp; do
  [ -e "$rpmroot/$f" ] || fail "/$f is missing after rpm -i"
done
"$rpmroot/usr/bin/skiffd" --version >/dev/null || fail "skiffd from the rpm does not run"
say "rpm: $(wc -l <"$work/rpm-files.txt") paths, installed into a temporary root"
say "OK"
