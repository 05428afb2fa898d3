// Command kbin-1.24 is the legacy cluster's multi-call binary: Kubernetes
// v1.24.17 (kube-apiserver, kube-controller-manager, kube-scheduler, kubelet)
// and etcd 3.5, one component per process, chosen by the name it was invoked
// under (a copy or link named kubelet, kube-apiserver, etcd ...) or else by
// its first argument:
//
//	kbin-1.24 apiserver|controller-manager|scheduler|kubelet|etcd [flags...]
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	_ "time/tzdata" // CronJob time zones, as the upstream mains have it

	"github.com/spf13/cobra"
	"go.etcd.io/etcd/server/v3/etcdmain"
	"k8s.io/component-base/cli"
	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/component-base/logs"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"
)

// viaCliRun runs a component's cobra command as its upstream main does.
func viaCliRun(build func() *cobra.Command) func([]string) int {
	return func(args []string) int {
		cmd := build()
		cmd.SetArgs(args)
		return cli.Run(cmd)
	}
}

// runKubelet runs the kubelet as its own v1.24 main does: it parses its flags
// and config file itself and sets up logging afterwards, so not through
// cli.Run.
func runKubelet(args []string) int {
	defer logs.FlushLogs()
	cmd := kubelet.NewKubeletCommand()
	cmd.SetArgs(args)
	cmd.SetGlobalNormalizationFunc(cliflag.WordSepNormalizeFunc)
	if err := cmd.Execute(); err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		return 1
	}
	return 0
}

// runEtcd runs etcd's own main, which reads its flags from argv[1:] and exits
// by itself.
func runEtcd(args []string) int {
	etcdmain.Main(append([]string{"etcd"}, args...))
	return 0
}

var components = map[string]func(args []string) int{
	"apiserver":          viaCliRun(apiserver.NewAPIServerCommand),
	"controller-manager": viaCliRun(controllermanager.NewControllerManagerCommand),
	"scheduler":          viaCliRun(func() *cobra.Command { return scheduler.NewSchedulerCommand() }),
	"kubelet":            runKubelet,
	"etcd":               runEtcd,
}

func main() {
	name, args := strings.TrimPrefix(filepath.Base(os.Args[0]), "kube-"), os.Args[1:]
	if _, ok := components[name]; !ok && len(args) > 0 {
		name, args = strings.TrimPrefix(args[0], "kube-"), args[1:]
	}
	run, ok := components[name]
	if !ok {
		names := make([]string, 0, len(components))
		for n := range components {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(os.Stderr, "usage: %s %s [flags...]\n", filepath.Base(os.Args[0]), strings.Join(names, "|"))
		os.Exit(2)
	}
	os.Exit(run(args))
}
