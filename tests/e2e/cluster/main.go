// Command kbin is a multi-call binary for the e2e test cluster: it runs one
// real Kubernetes component (or etcd) per process, chosen by its first
// argument or by the name it was invoked under.
//
//	kbin apiserver|controller-manager|scheduler|kubelet|etcd [flags...]
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"go.etcd.io/etcd/server/v3/etcdmain"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"
)

// cobraComponents build the command of each Kubernetes component.
var cobraComponents = map[string]func() *cobra.Command{
	"apiserver":          apiserver.NewAPIServerCommand,
	"controller-manager": controllermanager.NewControllerManagerCommand,
	"scheduler":          func() *cobra.Command { return scheduler.NewSchedulerCommand() },
	"kubelet":            func() *cobra.Command { return kubelet.NewKubeletCommand(context.Background()) },
}

func usage() {
	names := []string{"etcd"}
	for n := range cobraComponents {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(os.Stderr, "usage: kbin %s [flags...]\n", strings.Join(names, "|"))
}

func main() {
	// Called through a link named like the component (kube-apiserver,
	// kubelet, etcd ...) or as "kbin <component>".
	name := strings.TrimPrefix(filepath.Base(os.Args[0]), "kube-")
	args := os.Args[1:]
	if strings.HasPrefix(name, "kbin") {
		if len(args) == 0 {
			usage()
			os.Exit(2)
		}
		name, args = strings.TrimPrefix(args[0], "kube-"), args[1:]
	}
	if name == "etcd" {
		// etcdmain reads its flags from args[1:].
		etcdmain.Main(append([]string{"etcd"}, args...))
		return
	}
	build, ok := cobraComponents[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "kbin: unknown component %q\n", name)
		usage()
		os.Exit(2)
	}
	cmd := build()
	cmd.SetArgs(args)
	os.Exit(cli.Run(cmd))
}
