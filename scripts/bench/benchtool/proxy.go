package main

import (
	"errors"
	"flag"
	"fmt"

	"github.com/artprune/artprune/internal/scriptproxy"
)

// runProxy serves the HTTPS proxy for the seed script's skopeo. skopeo 1.9 does not apply a registries.conf
// location remap to `skopeo delete`, so the script's hard-coded host is reached through HTTPS_PROXY instead.
func runProxy(args []string) error {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	target := fs.String("target", "", "emulator base URL, http://127.0.0.1:PORT")
	host := fs.String("host", "artifactory.example.com", "the only host the proxy serves")
	caFile := fs.String("ca", "", "file to write the CA certificate to (PEM)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *target == "" || *caFile == "" {
		return errors.New("proxy: --target http://HOST:PORT and --ca FILE are required")
	}
	p, err := scriptproxy.Start(*listen, *host, *target, *caFile)
	if err != nil {
		return err
	}
	fmt.Println("proxy listening on", p.Addr)
	return p.Wait()
}
