package artifactory

import (
	"context"
	"fmt"
	"time"

	"github.com/artprune/artprune/prune"
)

// PulledSource is a [prune.Source] that marks the manifest files downloaded within Within (prune.ManifestFile.Pulled,
// artprune's --keep-pulled-within), so that the planner keeps their digest folders and what they reach: a
// deployment pinned to a digest (image@sha256:...) pulls it again on every node restart, although no tag points at
// it any more.
//
// Artifactory records downloads on the file served (Artifactory OSS 6.20, StatsServiceImpl.updateDownloadStatsIfNeeded:
// every GET of a local repository's file, not a HEAD): stat.downloaded for local downloads, stat.remote_downloaded
// for downloads made through another Artifactory (an edge node, or a remote repository of another instance), the
// latter per origin. For Docker repositories they live on manifest.json and list.manifest.json
// (crazy-max/artifactory-cleanup#150). Both count: artifactory-cleanup#156 shows what ignoring remote downloads costs.
//
// Before each inventory, PulledSource asks AQL for every manifest file of the repository whose stat.downloaded, and
// then whose stat.remote_downloaded, is at or after the server's time minus Within. Criteria on stat fields keep the
// query sortable and pageable: only primary fields are included (including a stat field would make Artifactory's
// DefaultSortDecorator replace the sort by one on the item id). The queries have the inventory's paging and
// completeness checks; a failed or incomplete answer fails the inventory, and so the repository: nothing is deleted.
//
// What the statistics cannot tell:
//   - who else pulled: only the last download's user and time are kept, and artprune's own reads of the documents
//     are downloads too. A document artprune read within the window therefore counts as pulled (it cannot tell
//     whether someone pulled it before): without a document cache (--cache-dir) every document artprune reads is
//     kept for the next Within; with one, each document is read once, when first seen.
//   - downloads in the last half minute: Artifactory flushes statistics every 30 s (35 s for remote ones).
//   - anything at all when an administrator turned statistics off (artifactory.repo.downloadStatsEnabled=false).
type PulledSource struct {
	prune.Source
	// Client runs the statistics queries and reads the server's clock.
	Client *Client
	// Within is the window; zero or negative turns the marking off.
	Within time.Duration
}

// Manifests implements prune.Source.
func (p PulledSource) Manifests(ctx context.Context, repo string, fn func(prune.ManifestFile) error) error {
	if p.Within <= 0 {
		return p.Source.Manifests(ctx, repo, fn)
	}
	now, err := p.Client.Now(ctx)
	if err != nil {
		return fmt.Errorf("reading the server time for the download statistics of repository %s: %w", repo, err)
	}
	pulled, err := p.Client.PulledManifests(ctx, repo, now.Add(-p.Within))
	if err != nil {
		return err
	}
	return p.Source.Manifests(ctx, repo, func(f prune.ManifestFile) error {
		if pulled[joinRel(f.Path, f.Name)] {
			f.Pulled = true
		}
		return fn(f)
	})
}

// PulledManifests returns the paths (relative to repo, "<folder>/<name>") of the manifest files of repo downloaded,
// locally or through another Artifactory, at or after since.
func (c *Client) PulledManifests(ctx context.Context, repo string, since time.Time) (map[string]bool, error) {
	ts := jsonString(since.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	out := map[string]bool{}
	for _, field := range []string{"stat.downloaded", "stat.remote_downloaded"} {
		criteria := fmt.Sprintf(`{"$and":[%s,{%s:{"$gte":%s}}]}`, manifestCriteria(repo), jsonString(field), ts)
		err := c.Search(ctx, Query{Criteria: criteria, ConfirmEnd: true}, func(r Row) error {
			if r.Repo != repo {
				return fmt.Errorf("got %s/%s from repository %q: %w", r.Path, r.Name, r.Repo, prune.ErrIncomplete)
			}
			out[joinRel(r.Path, r.Name)] = true
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("listing the manifest files of repository %s with %s since %s: %w", repo, field, since.UTC().Format(time.RFC3339), err)
		}
	}
	return out, nil
}

// RecheckImages implements prune.RecheckSource through the client: the re-check compares files with the
// inventory, and download statistics play no part in it.
func (p PulledSource) RecheckImages(ctx context.Context, repo string, images []string, since time.Time, fn func(prune.ManifestFile) error) error {
	return p.Client.RecheckImages(ctx, repo, images, since, fn)
}
