package artifactory

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path"
	"slices"
	"strings"
)

// RepoSummary is one entry of GET api/repositories.
type RepoSummary struct {
	Key string `json:"key"`
	// Type is LOCAL, REMOTE, VIRTUAL or FEDERATED.
	Type string `json:"type"`
	// PackageType is Docker, Generic, ...
	PackageType string `json:"packageType"`
}

// Repositories lists the repositories the caller can see (GET api/repositories).
func (c *Client) Repositories(ctx context.Context) ([]RepoSummary, error) {
	resp, err := c.send(ctx, http.MethodGet, c.base+"api/repositories", nil)
	if err != nil {
		return nil, fmt.Errorf("list repositories: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, apiError("list repositories at", c.base+"api/repositories", resp)
	}
	var out []RepoSummary
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&out); err != nil {
		return nil, fmt.Errorf("list repositories: decode the answer: %w", err)
	}
	return out, nil
}

// IsGlob reports whether a --repo pattern holds glob characters (see [path.Match]).
func IsGlob(pattern string) bool { return strings.ContainsAny(pattern, "*?[") }

// SkippedRepo is a repository that a pattern named but that is not pruned.
type SkippedRepo struct {
	Repo   string `json:"repo"`
	Reason string `json:"reason"`
}

// Resolution is the outcome of [ResolveRepositories].
type Resolution struct {
	// Repos are the repositories to prune, in the order the patterns named them (literal keys as given, each
	// glob's matches sorted), without duplicates.
	Repos []string
	// Skipped are the repositories a glob or all matched that are not local Docker repositories, with why.
	Skipped []SkippedRepo
}

// ResolveRepositories resolves --repo patterns and --all-repos against the repository list. A literal key is kept
// as given (it is checked when its turn comes, and refused then if it is not a local Docker repository). A glob
// ([path.Match] syntax) matches repository keys: the local Docker ones are pruned, every other match is skipped
// with the reason. all takes every local Docker repository and names the remote, virtual and federated Docker
// ones as skipped. A glob that matches nothing is an error: a scheduled job pruning nothing should say so.
func ResolveRepositories(patterns []string, all bool, list []RepoSummary) (Resolution, error) {
	var res Resolution
	seen := map[string]bool{}
	skipped := map[string]bool{}
	sorted := slices.Clone(list)
	slices.SortFunc(sorted, func(a, b RepoSummary) int { return strings.Compare(a.Key, b.Key) })
	take := func(key string) {
		if !seen[key] {
			seen[key] = true
			res.Repos = append(res.Repos, key)
		}
	}
	skip := func(r RepoSummary, why string) {
		if !skipped[r.Key] {
			skipped[r.Key] = true
			res.Skipped = append(res.Skipped, SkippedRepo{Repo: r.Key, Reason: why})
		}
	}
	consider := func(r RepoSummary) {
		if why := notPrunable(r); why != "" {
			skip(r, why)
			return
		}
		take(r.Key)
	}
	for _, p := range patterns {
		if !IsGlob(p) {
			take(p)
			continue
		}
		if _, err := path.Match(p, ""); err != nil {
			return res, fmt.Errorf("--repo %q: %w", p, err)
		}
		n := 0
		for _, r := range sorted {
			if ok, _ := path.Match(p, r.Key); ok {
				n++
				consider(r)
			}
		}
		if n == 0 {
			return res, fmt.Errorf("--repo %q matches no repository visible to this user: check the pattern, and that the user "+
				"may read the repositories (GET api/repositories lists those it can see)", p)
		}
	}
	if all {
		for _, r := range sorted {
			if strings.EqualFold(r.PackageType, "docker") {
				consider(r)
			}
		}
	}
	// A repository skipped by one pattern but named literally by another stays skipped only if never taken.
	res.Skipped = slices.DeleteFunc(res.Skipped, func(s SkippedRepo) bool { return seen[s.Repo] })
	return res, nil
}

// notPrunable says why a listed repository is not pruned, or "" if it is a local Docker repository.
func notPrunable(r RepoSummary) string {
	typ := strings.ToLower(r.Type)
	switch {
	case !strings.EqualFold(r.PackageType, "docker"):
		return fmt.Sprintf("a %s repository of package type %s, not Docker", typ, r.PackageType)
	case typ == "remote":
		return "a remote Docker repository: its cache holds no dangling manifests of its own"
	case typ == "virtual":
		return "a virtual Docker repository: it aggregates others and stores nothing itself"
	case typ == "federated":
		return "a federated Docker repository: its members replicate deletions, so artprune leaves it alone"
	case typ != "local":
		return fmt.Sprintf("a %s repository, not a local one", typ)
	}
	return ""
}
