# Real containerd 2.x and CRI-O, built from their Go modules through the module
# proxy (issue 14): binaries for the node image variants and the real-daemon
# checks. Root only (the checks start the daemons). make test-helper builds
# them when absent and starts every produced config with them.
#
#   make runtimes-build  containerd, ctr, containerd-shim-runc-v2 (v2.4.2) and
#                        crio, pinns (v1.34.0) into $(RS_CACHE)/runtimes/
#                        {containerd2,crio}; cold: minutes, warm: < 1 s
#   make runtimes-check  each started here in a private root: containerd with
#                        a config version 3 (CRI ok) and with containerd.io's
#                        config (CRI off); crio config / version / a started
#                        crio; pinns

RS_CACHE ?= /var/cache/kubectl-runtime-switch
export RS_CACHE

.PHONY: runtimes-build runtimes-check

runtimes-build:
	tests/e2e/containerd2/build.sh
	tests/e2e/crio/build.sh

runtimes-check: runtimes-build
	tests/e2e/containerd2/check.sh
	tests/e2e/crio/check.sh
