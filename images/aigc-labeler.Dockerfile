# syntax=docker/dockerfile:1
# The labeling and input-safety sidecar's image (rows 27 and 37). Built from the root of the
# repository, which holds the whole workspace:
#
#   docker build -f images/aigc-labeler.Dockerfile \
#     -t ghcr.io/model-compliance-operator/aigc-labeler:0.1.0 .
#
# The operator injects the container without a command, so the image's entrypoint and
# command are `aigc-labeler serve`, configured by its AIGC_LABELER_* environment. Like the
# operator's image: distroless, no shell, numeric user 65532, a read-only root file system
# is enough (the key and the rules are mounted).

ARG RUST_VERSION=1.95

FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p aigc-labeler --bin aigc-labeler \
    && install -D -m 0555 target/release/aigc-labeler /out/aigc-labeler

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/aigc-labeler /usr/local/bin/aigc-labeler
USER 65532:65532
# The proxy (the inference Service targets it) and the admin port (/healthz, /readyz,
# /metrics): the operator's defaults.
EXPOSE 8480 8481
ENTRYPOINT ["/usr/local/bin/aigc-labeler"]
CMD ["serve"]
