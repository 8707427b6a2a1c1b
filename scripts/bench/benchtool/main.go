// Command benchtool is the Go half of `make bench` and `make bench-scale` (scripts/bench/*.sh): the pieces that are
// awkward in bash.
//
//	benchtool proxy --listen ADDR --target URL --host NAME --ca FILE
//	    an HTTPS proxy that lets the seed script's `skopeo delete docker://NAME/...` reach the emulator unmodified:
//	    it accepts CONNECT NAME:443 only, terminates TLS with a certificate for NAME signed by a CA made for the
//	    run (written to FILE, for SSL_CERT_FILE), and forwards the requests to URL. It runs until killed.
//	benchtool inventory --url URL --token TOKEN --repo KEY --out FILE
//	    lists every manifest file of the repository with AQL, one "<folder>\t<name>\t<sha256>" line each, sorted.
//	benchtool report --dir DIR [--markdown FILE] [--json FILE]
//	    reads what bench.sh recorded in DIR (see report.go), prints the comparison table and checks it.
//	benchtool scale-report --dir DIR [--markdown FILE] [--tsv FILE]
//	    the same for bench-scale.sh.
//	benchtool update-doc --doc FILE --section NAME --table FILE --meta FILE
//	    replaces the measured section NAME of a Markdown file.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchtool proxy|inventory|report|scale-report [flags]")
		os.Exit(2)
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "proxy":
		err = runProxy(args)
	case "inventory":
		err = runInventory(args)
	case "report":
		err = runReport(args)
	case "scale-report":
		err = runScaleReport(args)
	case "update-doc":
		err = runUpdateDoc(args)
	default:
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtool:", err)
		os.Exit(1)
	}
}
