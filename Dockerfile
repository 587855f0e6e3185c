# regionctl's container image, so CI jobs need not build from source.
#
#   make release                      # dist/regionctl_linux_{amd64,arm64}/regionctl
#   docker buildx build --platform linux/amd64,linux/arm64 -t ghcr.io/ORG/regionctl:VERSION .
#
# The base is distroless (CA certificates and time zones, no package
# manager), in its debug flavour because CI steps run their scripts with sh
# (busybox). It runs as the unprivileged "nonroot" user. The binary is the
# static one scripts/release.sh builds; the release test checks that the
# path copied below exists in the layout it produces.
FROM gcr.io/distroless/static-debian12:debug-nonroot
ARG TARGETOS=linux
ARG TARGETARCH=amd64
COPY dist/regionctl_${TARGETOS}_${TARGETARCH}/regionctl /usr/local/bin/regionctl
# CI mode (docs/ci.md): no prompts, no colours, timestamped progress.
ENV CI=true
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/regionctl"]
CMD ["--help"]
