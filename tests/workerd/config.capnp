# workerd config for the core dump test Worker (worker.mjs). run.mjs lays the files out in a
# temporary directory and starts `workerd serve config.capnp` there; by hand:
#
#   mkdir /tmp/w && cp config.capnp worker.mjs /tmp/w/ && cp ../../host/coredump.mjs /tmp/w/ \
#     && cp REWRITTEN.wasm /tmp/w/app.wasm
#   COREDUMP_ENDPOINT= npx workerd serve /tmp/w/config.capnp \
#     --socket-addr http=127.0.0.1:8787 --external-addr coredump-service=127.0.0.1:8080
#
# The embedded files are siblings of this file: worker.mjs, coredump.mjs (host/coredump.mjs) and
# app.wasm (the rewritten module). Addresses come from the command line: the `http` socket the
# Worker listens on (--socket-addr) and the coredump service behind the COREDUMP_SERVICE binding
# (--external-addr). COREDUMP_ENDPOINT and COREDUMP_TOKEN come from the environment.

using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "coredump-service", external = (http = ())),
    # The global fetch reaches loopback only (the default "internet" service refuses it).
    (name = "loopback", network = (allow = ["local"])),
  ],
  sockets = [(name = "http", http = (), service = "main")],
);

const worker :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "worker.mjs"),
    (name = "coredump.mjs", esModule = embed "coredump.mjs"),
    (name = "app.wasm", wasm = embed "app.wasm"),
  ],
  compatibilityDate = "2025-06-01",
  bindings = [
    (name = "COREDUMP_SERVICE", service = "coredump-service"),
    (name = "COREDUMP_ENDPOINT", fromEnvironment = "COREDUMP_ENDPOINT"),
    (name = "COREDUMP_TOKEN", fromEnvironment = "COREDUMP_TOKEN"),
  ],
  globalOutbound = "loopback",
);
