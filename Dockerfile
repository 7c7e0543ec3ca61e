# syntax=docker/dockerfile:1
# The operator's image. Built from the root of the repository:
#
#   docker build -t ghcr.io/model-compliance-operator/model-compliance-operator:0.1.0 .
#
# The binary is compiled in the Rust image of the toolchain the project builds with, then
# copied alone into distroless: no shell, no package manager, glibc and CA certificates only.
# It runs as the numeric user 65532, so `runAsNonRoot` can be checked by the kubelet.

ARG RUST_VERSION=1.95

FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin model-compliance-operator \
    && install -D -m 0555 target/release/model-compliance-operator /out/model-compliance-operator

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/model-compliance-operator /usr/local/bin/model-compliance-operator
USER 65532:65532
# /healthz, /readyz and /metrics.
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/model-compliance-operator"]
CMD ["run", "--json-logs"]
