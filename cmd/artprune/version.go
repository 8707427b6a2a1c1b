package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Set with -ldflags "-X main.version=... -X main.commit=..." by the Makefile.
var (
	version = ""
	commit  = ""
)

// buildVersion returns the version, commit and Go version, from -ldflags or from the binary's build information.
func buildVersion() (ver, rev, goVersion string) {
	ver, rev = version, commit
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return orUnknown(ver), orUnknown(rev), "unknown"
	}
	if ver == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		ver = info.Main.Version
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && rev == "" {
			rev = s.Value
		}
	}
	return orUnknown(ver), orUnknown(rev), info.GoVersion
}

func orUnknown(s string) string {
	if s == "" {
		return "devel"
	}
	return s
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ver, rev, gov := buildVersion()
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "artprune %s\ncommit: %s\ngo: %s\n", ver, rev, gov)
			return err
		},
	}
}
