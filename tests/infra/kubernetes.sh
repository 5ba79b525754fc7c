#!/usr/bin/env bash
# A one-node Kubernetes 1.20 cluster on this machine (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet on a private containerd), built from Debian's `kubernetes` source package.
#
#   eval "$(tests/infra/kubernetes.sh)"      # build once, start, import the test image; prints KUBECONFIG
#   tests/infra/kubernetes.sh stop           # stop it; no iptables chain, mount, bridge or process is left
#   tests/infra/kubernetes.sh build          # only build (or find) the binaries
#
# No registry ships the server binaries, so the first run on a machine builds kube-apiserver,
# kube-controller-manager, kube-scheduler, kubelet and kubectl with Debian's Go 1.19 (about 4 min on two idle
# cores) into $DRMAA2_K8S_CACHE (default /var/cache/drmaa2-test/kubernetes, outside any checkout, so a fresh
# clone reuses them). Run-time state lives under $DRMAA2_TEST_STATE/kubernetes (default
# /var/lib/drmaa2-test/kubernetes). Everything listens on 127.0.0.1 only (API server: 16443).
# Idempotent and safe to run concurrently (one lock); all output but the final `export` goes to stderr.
set -euo pipefail

CACHE=${DRMAA2_K8S_CACHE:-/var/cache/drmaa2-test/kubernetes}
W=${DRMAA2_TEST_STATE:-/var/lib/drmaa2-test}/kubernetes
BIN=$CACHE/bin
IMAGE=${DRMAA2_TEST_IMAGE:-drmaa2-test/busybox:1}
PAUSE=localhost/pause:1
LOCK=${DRMAA2_K8S_LOCK:-/run/lock/drmaa2-kubernetes.lock}
API=https://127.0.0.1:16443
SOCK=$W/containerd/containerd.sock
VERSION=1.20.2
BINARIES="kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl"
DAEMONS="kubelet kube-scheduler kube-controller-manager kube-apiserver etcd containerd"   # stop order

say() { printf 'kubernetes.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    local apt=(apt-get -o DPkg::Lock::Timeout=900 -q)
    # --no-upgrade: what is installed already is left as it is (other work shares this machine).
    "${apt[@]}" install -y --no-install-recommends --no-upgrade "$@" >&2 \
        || { "${apt[@]}" update >&2 && "${apt[@]}" install -y --no-install-recommends --no-upgrade "$@" >&2; }
}

alive() {  # alive NAME: the daemon this script started as NAME runs (a zombie not yet reaped does not)
    local pid state
    [ -s "$W/run/$1.pid" ] || return 1
    pid=$(cat "$W/run/$1.pid")
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ]
}

built() {
    local b
    for b in $BINARIES; do [ -x "$BIN/$b" ] || return 1; done
    [ "$(cat "$CACHE/VERSION" 2>/dev/null)" = "$VERSION" ]
}

build() {
    built && return 0
    say "building Kubernetes $VERSION from Debian's source package into $CACHE (about 4 minutes on two idle cores)"
    apt_install golang-1.19-go golang-github-modern-go-reflect2-dev make ca-certificates
    local src=$CACHE/src
    rm -rf "$src"
    mkdir -p "$src/apt/lists/partial" "$src/apt/cache/archives/partial" "$src/apt/sources.list.d"
    # deb-src entries for the mirrors this machine already uses; the system's apt state is left untouched.
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
            >"$src/apt/sources.list.d/debian.sources"
    else
        sed -n 's/^deb /deb-src /p' /etc/apt/sources.list >"$src/apt/sources.list.d/debian.list"
    fi
    local a=(-o Dir::Etc::sourcelist=- -o "Dir::Etc::sourceparts=$src/apt/sources.list.d"
             -o "Dir::State::Lists=$src/apt/lists" -o "Dir::Cache=$src/apt/cache")
    (cd "$src" && apt-get -q "${a[@]}" update >&2 && apt-get -q "${a[@]}" source --download-only kubernetes >&2)
    tar -C "$src" -xzf "$src"/kubernetes_*.orig.tar.gz
    local tree=$src/kubernetes-$VERSION
    [ -d "$tree" ] || die "the source package did not unpack to $tree"
    # The vendored reflect2 1.0.1 breaks under Go >= 1.18: the API server then panics on the first JSON reply
    # that holds a map and resets every JSON connection after it. Debian's packaged reflect2 works.
    local r=$tree/vendor/github.com/modern-go/reflect2
    rm -rf "$r" && cp -a /usr/share/gocode/src/github.com/modern-go/reflect2 "$r" && rm -f "$r/go.mod"
    local what="" b
    for b in $BINARIES; do what="$what cmd/$b"; done
    (cd "$tree" && PATH=/usr/lib/go-1.19/bin:$PATH CGO_ENABLED=0 GOPROXY=off GOFLAGS= GOLDFLAGS="-s -w" \
        KUBE_GIT_VERSION=v$VERSION KUBE_GIT_TREE_STATE=clean KUBE_GIT_COMMIT=debian \
        make WHAT="${what# }" >&2)
    mkdir -p "$BIN"
    for b in $BINARIES; do install -m 0755 "$tree/_output/local/bin/linux/amd64/$b" "$BIN/$b"; done
    echo "$VERSION" >"$CACHE/VERSION"
    rm -rf "$src"    # the tree and Go's cache take ~3 GB; only the binaries are kept
    say "built: $BIN"
}

case "${1:-start}" in
    build)
        [ "$(id -u)" = 0 ] || die "must run as root (packages)"
        mkdir -p "$(dirname "$LOCK")"; exec 9>"$LOCK"; flock -w 2400 9 || die "another set-up holds $LOCK"
        build; exit 0 ;;
esac

# --- the cluster ---------------------------------------------------------------------------------------------
kubectl_() { "$BIN/kubectl" --kubeconfig "$W/admin.kubeconfig" "$@"; }

print_env() { echo "export KUBECONFIG=$W/kubeconfig"; }

node_ready() {
    kubectl_ get node localhost -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null \
        | grep -qx True
}

answers() {
    [ -s "$W/admin.kubeconfig" ] && timeout 10 "$BIN/kubectl" --kubeconfig "$W/admin.kubeconfig" \
        get --raw /readyz >/dev/null 2>&1 && node_ready
}

start_daemon() {  # start_daemon NAME CMD...: in its own session, pid in run/NAME.pid, log in log/NAME.log
    local name=$1; shift
    alive "$name" && return 0
    # 9>&-: the daemon lives on and must not hold our lock.
    setsid "$@" >>"$W/log/$name.log" 2>&1 </dev/null 9>&- &
    echo $! >"$W/run/$name.pid"
}

until_ok() {  # until_ok SECONDS WHAT CMD...: poll CMD every 0.2 s
    local limit=$1 what=$2; shift 2
    local end=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$end" ] || die "$what not ready within ${limit}s; logs in $W/log"
        sleep 0.2
    done
}

write_config() {
    mkdir -p "$W"/{run,log,pki,containerd,cni/conf,cni/ipam,kubelet/root,kubelet/pki,etcd,images}
    chmod 700 "$W" "$W/pki"
    local p=$W/pki
    if [ ! -s "$p/admin.crt" ]; then
        say "generating certificates and the admin token"
        openssl genrsa -out "$p/sa.key" 2048 2>/dev/null
        openssl rsa -in "$p/sa.key" -pubout -out "$p/sa.pub" 2>/dev/null
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=drmaa2-test-ca \
            -keyout "$p/ca.key" -out "$p/ca.crt" 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -subj /CN=kube-apiserver -keyout "$p/apiserver.key" \
            -out "$p/apiserver.csr" 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\n' >"$p/san.ext"
        openssl x509 -req -in "$p/apiserver.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial -days 3650 \
            -extfile "$p/san.ext" -out "$p/apiserver.crt" 2>/dev/null
        # The user's credentials are a client certificate (the components use the token).
        openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=drmaa2-test" -keyout "$p/admin.key" \
            -out "$p/admin.csr" 2>/dev/null
        openssl x509 -req -in "$p/admin.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial -days 3650 \
            -out "$p/admin.crt" 2>/dev/null
        echo "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'),admin,admin,system:masters" >"$p/tokens.csv"
        chmod 600 "$p"/*
    fi
    local ca token
    ca=$(base64 -w0 <"$p/ca.crt")
    token=$(cut -d, -f1 "$p/tokens.csv")
    (umask 077
     cat >"$W/admin.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster: {server: "$API", certificate-authority-data: $ca}
users:
- name: admin
  user: {token: $token}
contexts:
- name: local
  context: {cluster: local, user: admin}
current-context: local
KC
     cat >"$W/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: $API
    certificate-authority-data: $ca
users:
- name: drmaa2-test
  user:
    client-certificate-data: $(base64 -w0 <"$p/admin.crt")
    client-key-data: $(base64 -w0 <"$p/admin.key")
contexts:
- name: drmaa2-test
  context:
    cluster: local
    user: drmaa2-test
    namespace: default
current-context: drmaa2-test
KC
    )
    cat >"$W/containerd/config.toml" <<EOT
version = 2
root = "$W/containerd/root"
state = "$W/containerd/state"
[grpc]
  address = "$SOCK"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE"
  disable_apparmor = true
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "$W/containerd/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$W/cni/conf"
EOT
    # A bridge without gateway or masquerading: pods get an address and loopback, and no iptables rule.
    cat >"$W/cni/conf/10-k8s.conflist" <<EOT
{"cniVersion": "0.4.0", "name": "k8s-net", "plugins": [
  {"type": "bridge", "bridge": "k8scni0", "isGateway": false, "ipMasq": false, "hairpinMode": false,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.77.0/24"}]], "dataDir": "$W/cni/ipam"}},
  {"type": "loopback"}]}
EOT
    # Eviction and image garbage collection off: the imported images must stay (nothing can be pulled).
    cat >"$W/kubelet/config.yaml" <<EOT
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: 10350
readOnlyPort: 0
healthzPort: 10348
healthzBindAddress: 127.0.0.1
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
makeIPTablesUtilChains: false
authentication: {anonymous: {enabled: true}, webhook: {enabled: false}}
authorization: {mode: AlwaysAllow}
evictionHard: {"memory.available": "1Mi", "nodefs.available": "1%", "imagefs.available": "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
maxPods: 20
syncFrequency: 10s
fileCheckFrequency: 10s
serializeImagePulls: false
EOT
}

make_images() {  # docker-archive tars of busybox-static: the pod sandbox and the test image
    [ -s "$W/images/busybox.tar" ] && [ -s "$W/images/pause.tar" ] && return 0
    python3 - "$W/images" "$IMAGE" "$PAUSE" <<'PY'
import hashlib, io, json, os, sys, tarfile
out, image, pause = sys.argv[1:]
bb = open("/bin/busybox", "rb").read()
applets = os.popen("/bin/busybox --list").read().split()
layer = io.BytesIO()
with tarfile.open(fileobj=layer, mode="w", format=tarfile.GNU_FORMAT) as t:
    def add(name, data=None, mode=0o755, kind=tarfile.REGTYPE, link=""):
        info = tarfile.TarInfo(name); info.mode = mode; info.type = kind; info.linkname = link
        if data is not None:
            info.size = len(data)
        t.addfile(info, io.BytesIO(data) if data is not None else None)
    for d in ("bin", "etc", "root"):
        add(d, mode=0o755, kind=tarfile.DIRTYPE)
    add("tmp", mode=0o1777, kind=tarfile.DIRTYPE)
    add("bin/busybox", bb)
    for a in applets:
        if a != "busybox":
            add("bin/" + a, kind=tarfile.SYMTYPE, link="busybox")
    add("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n", 0o644)
    add("etc/group", b"root:x:0:\nnogroup:x:65534:\n", 0o644)
data = layer.getvalue()
diff = "sha256:" + hashlib.sha256(data).hexdigest()
for name, tag, cfg in (("busybox", image, {"Env": ["PATH=/bin"], "Cmd": ["/bin/sh"]}),
                       ("pause", pause, {"Env": ["PATH=/bin"], "Entrypoint": ["/bin/sleep", "2147483647"]})):
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": cfg,
                         "rootfs": {"type": "layers", "diff_ids": [diff]}, "history": [{}]}).encode()
    cname = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": cname, "RepoTags": [tag], "Layers": ["layer.tar"]}]).encode()
    with tarfile.open(os.path.join(out, name + ".tar.tmp"), "w") as t:
        for fname, blob in ((cname, config), ("layer.tar", data), ("manifest.json", manifest)):
            info = tarfile.TarInfo(fname); info.size = len(blob); info.mode = 0o644
            t.addfile(info, io.BytesIO(blob))
    os.replace(os.path.join(out, name + ".tar.tmp"), os.path.join(out, name + ".tar"))
PY
}

start() {
    [ "$(id -u)" = 0 ] || die "must run as root (daemons, mounts, packages)"
    if alive kube-apiserver && alive kubelet && answers; then print_env; return 0; fi
    local missing=""
    for c in etcd containerd ctr runc openssl ip curl pgrep; do command -v $c >/dev/null || missing=1; done
    [ -x /usr/lib/cni/bridge ] || missing=1
    # The test image is busybox-static's /bin/busybox: a dynamic one would find no libc in the image.
    case "$(LC_ALL=C ldd /bin/busybox 2>&1)" in *"not a dynamic executable"*) ;; *) missing=1 ;; esac
    if [ -n "$missing" ]; then
        say "installing etcd-server containerd runc containernetworking-plugins busybox-static openssl iproute2 curl"
        apt_install etcd-server containerd runc containernetworking-plugins busybox-static openssl iproute2 curl \
            procps
    fi
    build
    write_config
    make_images
    say "starting containerd, etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet (logs: $W/log)"
    start_daemon containerd containerd --config "$W/containerd/config.toml"
    until_ok 30 containerd ctr -a "$SOCK" version
    local img
    for img in pause busybox; do
        ctr -a "$SOCK" -n k8s.io images import "$W/images/$img.tar" >/dev/null
    done
    start_daemon etcd etcd --name k8s --data-dir "$W/etcd/data" \
        --listen-client-urls http://127.0.0.1:23790 --advertise-client-urls http://127.0.0.1:23790 \
        --listen-peer-urls http://127.0.0.1:23800 --initial-advertise-peer-urls http://127.0.0.1:23800 \
        --initial-cluster k8s=http://127.0.0.1:23800
    until_ok 60 etcd curl -fsS http://127.0.0.1:23790/health
    start_daemon kube-apiserver "$BIN/kube-apiserver" --etcd-servers=http://127.0.0.1:23790 \
        --bind-address=127.0.0.1 --secure-port=16443 \
        --tls-cert-file="$W/pki/apiserver.crt" --tls-private-key-file="$W/pki/apiserver.key" \
        --client-ca-file="$W/pki/ca.crt" --token-auth-file="$W/pki/tokens.csv" --authorization-mode=RBAC \
        --service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$W/pki/sa.pub" \
        --service-account-signing-key-file="$W/pki/sa.key" --service-cluster-ip-range=10.96.0.0/24 \
        --endpoint-reconciler-type=none
    until_ok 120 kube-apiserver kubectl_ get --raw /readyz
    start_daemon kube-controller-manager "$BIN/kube-controller-manager" --kubeconfig="$W/admin.kubeconfig" \
        --leader-elect=false --bind-address=127.0.0.1 --secure-port=10357 --port=0 \
        --service-account-private-key-file="$W/pki/sa.key" --use-service-account-credentials=false
    start_daemon kube-scheduler "$BIN/kube-scheduler" --kubeconfig="$W/admin.kubeconfig" --leader-elect=false \
        --bind-address=127.0.0.1 --secure-port=10359 --port=0
    # The kubelet reaches the API server as "localhost" and is reached by it at 127.0.0.1:10350 (logs).
    start_daemon kubelet "$BIN/kubelet" --config="$W/kubelet/config.yaml" --kubeconfig="$W/admin.kubeconfig" \
        --container-runtime=remote --container-runtime-endpoint="unix://$SOCK" --root-dir="$W/kubelet/root" \
        --cert-dir="$W/kubelet/pki" --hostname-override=localhost --v=1
    until_ok 120 "the node" node_ready
    # Pods of namespace default need its service account (its token secret), made by the controller manager.
    until_ok 60 "the default service account" kubectl_ get serviceaccount default -n default -o name
    say "cluster $("$BIN/kubectl" version --client --short 2>/dev/null | sed 's/.*: //') is ready; image $IMAGE imported"
    print_env
}

stop() {
    if alive kube-apiserver && alive kubelet; then
        # Pods first, through the kubelet: it tears down their sandboxes (network namespaces, mounts).
        kubectl_ delete jobs --all --all-namespaces --wait=false >/dev/null 2>&1 || true
        # drmaa2's pods wait for it to read their exit status (finalizer drmaa2/result): let them go.
        local ns pod
        kubectl_ get pods --all-namespaces -o 'jsonpath={range .items[*]}{.metadata.namespace} {.metadata.name}{"\n"}{end}' \
            2>/dev/null | while read -r ns pod; do
                [ -n "$pod" ] && kubectl_ patch pod -n "$ns" "$pod" --type=merge -p '{"metadata":{"finalizers":null}}' \
                    >/dev/null 2>&1 || true
            done
        kubectl_ delete pods --all --all-namespaces --grace-period=0 --force --wait=false >/dev/null 2>&1 || true
        local end=$((SECONDS + 30))
        while [ "$SECONDS" -lt "$end" ] && [ -n "$(ctr -a "$SOCK" -n k8s.io tasks ls -q 2>/dev/null)" ]; do
            sleep 0.5
        done
    fi
    local name pid
    for name in $DAEMONS; do
        if [ "$name" = containerd ] && alive containerd; then
            local t
            for t in $(ctr -a "$SOCK" -n k8s.io tasks ls -q 2>/dev/null); do
                ctr -a "$SOCK" -n k8s.io tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true
                ctr -a "$SOCK" -n k8s.io tasks delete -f "$t" >/dev/null 2>&1 || true
            done
        fi
        if alive "$name"; then
            pid=$(cat "$W/run/$name.pid")
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 1 100); do alive "$name" || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
            say "stopped $name"
        fi
        rm -f "$W/run/$name.pid"
    done
    # Shims of this containerd (they outlive it by design), found by its socket.
    for pid in $(pgrep -f -- "containerd-shim-runc-v2 .*-address $SOCK" || true); do kill -9 "$pid" 2>/dev/null || true; done
    # Mounts under the state directory (kubelet's root bind mount, overlay snapshots, sandbox shm), deepest first.
    local m
    for m in $(awk -v w="$W/" 'index($2, w) == 1 || $2 == substr(w, 1, length(w) - 1) {print $2}' /proc/mounts | sort -r); do
        umount -l "$m" 2>/dev/null || true
    done
    # Network namespaces of this cluster's pods: those whose address the CNI plugin handed out from our range.
    local ns
    for ns in /run/netns/cni-*; do
        [ -e "$ns" ] || continue
        if ip netns exec "$(basename "$ns")" ip -4 addr 2>/dev/null | grep -q 'inet 10\.244\.77\.'; then
            umount "$ns" 2>/dev/null || true
            rm -f "$ns"
        fi
    done
    ip link del k8scni0 2>/dev/null || true
    rm -rf /var/lib/cni/results/k8s-net-* "$W/cni/ipam"
}

case "${1:-start}" in
    start|"")
        mkdir -p "$(dirname "$LOCK")"; exec 9>"$LOCK"; flock -w 2400 9 || die "another set-up holds $LOCK"
        start ;;
    stop)
        mkdir -p "$(dirname "$LOCK")"; exec 9>"$LOCK"; flock -w 2400 9 || die "another set-up holds $LOCK"
        stop ;;
    env) print_env ;;
    *) die "usage: $0 [start|stop|build|env]" ;;
esac
