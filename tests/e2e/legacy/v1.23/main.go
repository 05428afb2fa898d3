// Command kubelet123 is the kubelet of Kubernetes v1.23.17, with its built-in
// dockershim (--container-runtime=docker), for the legacy e2e cluster's nodes.
// It runs as the upstream v1.23 kubelet main does: the kubelet parses its flags
// and config file itself and sets up logging afterwards.
package main

import (
	"os"

	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/component-base/logs"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/restclient"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kubelet/app"
)

func main() {
	os.Exit(run())
}

func run() int {
	defer logs.FlushLogs()
	cmd := app.NewKubeletCommand()
	cmd.SetGlobalNormalizationFunc(cliflag.WordSepNormalizeFunc)
	// The kubelet prints its own error; the upstream v1.23 main adds nothing.
	if err := cmd.Execute(); err != nil {
		return 1
	}
	return 0
}
