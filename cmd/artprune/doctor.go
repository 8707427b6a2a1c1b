package main

import (
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/artprune/artprune/doctor"
)

// doctorFlags are the flags of artprune doctor.
type doctorFlags struct {
	conn    connFlags
	repo    string
	scratch string
	output  string
	verbose bool
}

func newDoctorCmd(getenv func(string) string) *cobra.Command {
	o := &doctorFlags{}
	cmd := &cobra.Command{
		Use:   "doctor [--repo KEY] [--scratch-repo KEY]",
		Short: "Check on your Artifactory the assumptions artprune's safety rests on",
		Long: `doctor checks, on your own Artifactory, what artprune relies on: the edition and version, whether AQL sorts,
honours .limit and the query length limit, whether this user's listings of --repo can be proven complete (admin or
not), the AQL concurrency artprune keeps to and the referrers API; for each it says what artprune will do there and
which guarantee holds. It is read-only, except with --scratch-repo KEY: a local Docker repository it may fill and
empty, where it pushes small test images through the Docker API (an index and a platform manifest to one tag, as
Docker's containerd image store does) and checks the layout, the properties and the delete semantics, then removes
what it pushed.

Exit codes: 0 when everything artprune needs holds, 1 when a check failed (artprune fails closed there), 2 usage.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.output != "text" && o.output != "json" {
				return usageErrorf("--output %q: want text or json", o.output)
			}
			level := slog.LevelWarn
			if o.verbose {
				level = slog.LevelDebug
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			ctx := cmd.Context()
			client, err := o.conn.client(ctx, getenv, log, clientOptions(ctx)...)
			if err != nil {
				return err
			}
			rep, err := doctor.Run(ctx, doctor.Env{Client: client, Repo: o.repo, Scratch: o.scratch}, doctor.DefaultChecks())
			if err != nil {
				return err
			}
			if o.output == "json" {
				err = rep.WriteJSON(cmd.OutOrStdout())
			} else {
				err = rep.WriteText(cmd.OutOrStdout())
			}
			if err != nil {
				return err
			}
			if !rep.OK() {
				return errFailed
			}
			return nil
		},
	}
	f := cmd.Flags()
	o.conn.register(f)
	f.StringVar(&o.repo, "repo", "", "local Docker repository to check listings on")
	f.StringVar(&o.scratch, "scratch-repo", "", "local Docker repository doctor may fill and empty, to check pushes, layouts and deletes")
	f.StringVarP(&o.output, "output", "o", "text", "stdout format: text or json")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "log requests and retries on stderr")
	return cmd
}
