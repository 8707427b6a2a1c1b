package main

import (
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/artprune/artprune/internal/atomicfile"

	"github.com/artprune/artprune/run"
)

// pruneOptions are the flags of "artprune prune" (and, through runFlags, of plan and serve).
type pruneOptions struct {
	runFlags
	delete bool
}

// minAgeWarning is the grace period below which artprune warns: a multi-arch push writes children before the index.
const minAgeWarning = 10 * time.Minute

func newPruneCmd(getenv func(string) string) *cobra.Command {
	o := &pruneOptions{}
	cmd := &cobra.Command{
		Use:   "prune --url URL --repo KEY [--repo KEY]... [--delete]",
		Short: "Find (and with --delete, remove) dangling manifest folders",
		Long: `prune lists every manifest of each repository with AQL, reads every index and manifest once, marks what tags,
nested indexes, OCI referrers, the keep property and the grace period keep alive, and plans to delete the other
digest folders (<image>/sha256:<hex>). Without --delete it only reports. With --delete it re-checks for new pushes,
then deletes.

Settings come from the flags, then the environment (JF_URL, JF_ACCESS_TOKEN, JF_USER, JF_PASSWORD), then the
--config file; --server-id takes the URL and credentials of a JFrog CLI server (jf c add).

Exit codes: 0 success; 1 a failure happened (nothing unsafe was done); 2 usage error; 130/143 interrupted.`,
		Example: `  # What would be freed in docker-local? (dry run)
  artprune prune --url https://example.jfrog.io/artifactory --access-token-file token.txt --repo docker-local

  # Every local Docker repository whose key starts with docker-, but not the base images
  artprune prune --server-id prod --repo 'docker-*' --exclude-image 'base/**'

  # Delete, keeping anything younger than 7 days, and keep a JSON report
  artprune prune --url https://example.jfrog.io/artifactory --repo docker-local --min-age 7d --delete --report report.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd, getenv)
		},
	}
	f := cmd.Flags()
	o.registerAll(f)
	f.BoolVar(&o.delete, "delete", false, "delete; without it artprune only reports what it would delete (dry run)")
	o.registerPurge(f)
	return cmd
}

func (o *pruneOptions) run(cmd *cobra.Command, getenv func(string) string) error {
	ctx := cmd.Context()
	s, err := o.open(cmd, getenv, o.selection())
	if err != nil {
		return err
	}
	out := s.run(ctx, run.Options{Delete: o.delete})
	s.closeProgress()
	return s.publish(ctx, cmd.OutOrStdout(), out)
}

// writeFileAtomically writes path through a temporary file renamed over it: a reader never sees half of it.
func writeFileAtomically(path string, write func(io.Writer) error) error {
	return atomicfile.Write(path, ".artprune-tmp-", write)
}
