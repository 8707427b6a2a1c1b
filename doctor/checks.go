package doctor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/artprune/artprune/artifactory"
	"github.com/artprune/artprune/prune"
)

// DefaultChecks are the read-only checks, then the scratch checks, in the order they run. The lead adds checks
// (the Trash Can) by appending to this list.
func DefaultChecks() []Check {
	return []Check{
		{Name: "edition", Run: checkEdition},
		{Name: "repository", Run: checkRepository},
		{Name: "aql-sort", Run: checkSort},
		{Name: "aql-limit", Run: checkLimit},
		{Name: "aql-query-length", Run: checkQueryLength},
		{Name: "complete-listing", Run: checkCompleteListing},
		{Name: "aql-concurrency", Run: checkConcurrency},
		{Name: "referrers-api", Run: checkReferrers},
		{Name: "trash-can", Run: checkTrashCan},
		{Name: "scratch-trash-restore", Scratch: true, Run: checkScratchTrash},
		{Name: "scratch-push-layout", Scratch: true, Run: checkScratchLayout},
	}
}

func checkEdition(ctx context.Context, env Env) Result {
	info, _ := env.Client.Server(ctx)
	res := Result{Status: StatusOK, Found: fmt.Sprintf("%s (%s)", info, info.How)}
	switch {
	case info.Sorts:
		res.Artprune = "inventories are keyset-paged on an AQL sort; a view filtered by permissions is caught by the completeness probe"
	case !info.Admin:
		res.Status = StatusFail
		res.Artprune = "AQL refuses sort here, and without sort only an admin's listing can be proven complete: artprune refuses " +
			"every repository for this user; run artprune (and doctor) as an admin"
	default:
		res.Artprune = "AQL refuses sort here: inventories are unsorted queries over (path, name) partitions, split when full; " +
			"complete only for an admin, so other users are refused"
	}
	return res
}

func needRepo(env Env) (Result, bool) {
	if env.Repo == "" {
		return Result{Status: StatusSkip, Found: "no --repo given", Artprune: "give a local Docker repository to check listings on it"}, false
	}
	return Result{}, true
}

func checkRepository(ctx context.Context, env Env) Result {
	if r, ok := needRepo(env); !ok {
		return r
	}
	if err := env.Client.CheckDockerLocal(ctx, env.Repo); err != nil {
		return Result{Status: StatusFail, Found: err.Error(), Artprune: "prunes only local Docker repositories the caller can read"}
	}
	return Result{Status: StatusOK, Found: env.Repo + " is a local Docker repository", Artprune: "will prune it"}
}

// probeQuery is a small query on repo with the fields artprune includes.
func probeQuery(repo, tail string) string {
	return fmt.Sprintf(`items.find({"repo":%q,"type":"file","$or":[{"name":"manifest.json"},{"name":"list.manifest.json"}]}).include("repo","path","name","created")%s`, repo, tail)
}

func checkSort(ctx context.Context, env Env) Result {
	if r, ok := needRepo(env); !ok {
		return r
	}
	info, _ := env.Client.Server(ctx)
	rows, _, err := env.Client.AQL(ctx, probeQuery(env.Repo, `.sort({"$asc":["path","name"]}).limit(50)`))
	switch {
	case err == nil && info.Sorts:
		next := func(a artifactory.Row) (artifactory.Row, bool, error) {
			after, _, err := env.Client.AQL(ctx, probeQueryAfter(env.Repo, a, `.sort({"$asc":["path","name"]}).limit(1)`))
			if err != nil || len(after) == 0 {
				return artifactory.Row{}, false, err
			}
			return after[0], true, nil
		}
		return verifyOrder(rows, next)
	case err == nil:
		return Result{Status: StatusWarn, Found: "AQL sorted, although the edition looked like OSS or JCR",
			Artprune: "lists in unsorted partitions all the same, which needs an admin"}
	}
	var ae *artifactory.APIError
	if errors.As(err, &ae) && ae.Status == http.StatusBadRequest && strings.Contains(ae.Message, "Sorting is not supported") {
		if info.Sorts {
			return Result{Status: StatusWarn, Found: "AQL refused sort: " + ae.Message, Artprune: "switches to unsorted partitions at the first refusal"}
		}
		return Result{Status: StatusOK, Found: "AQL refuses sort, as OSS and JCR do: " + ae.Message,
			Artprune: "never sends a sort here (the edition is known before the first query)"}
	}
	return Result{Status: StatusFail, Found: "a sorted AQL query failed: " + err.Error(), Artprune: "cannot list this repository"}
}

// probeQueryAfter is probeQuery restricted to the rows after a in (path, name), with the same $gt comparison as
// artprune's keyset pages.
func probeQueryAfter(repo string, a artifactory.Row, tail string) string {
	return fmt.Sprintf(`items.find({"$and":[{"repo":%q,"type":"file","$or":[{"name":"manifest.json"},{"name":"list.manifest.json"}]},`+
		`{"$or":[{"path":{"$gt":%q}},{"$and":[{"path":{"$eq":%q}},{"name":{"$gt":%q}}]}]}]}).include("repo","path","name","created")%s`,
		repo, a.Path, a.Path, a.Name, tail)
}

// maxOrderChecks bounds the keyset queries of the aql-sort check.
const maxOrderChecks = 5

// verifyOrder checks what keyset paging needs of a sorted answer: that the server's own $gt, asked for the rows
// after a row, starts with the row its ORDER BY put next (next asks the server). It asks for the first pair and
// for every pair out of Go's byte order (at most maxOrderChecks in all): a database collation may order strings
// differently from bytes, which is fine as long as its $gt agrees.
func verifyOrder(rows []artifactory.Row, next func(artifactory.Row) (artifactory.Row, bool, error)) Result {
	var pairs, unlike []int
	for i := 1; i < len(rows); i++ {
		a, b := rows[i-1], rows[i]
		if a.Path > b.Path || (a.Path == b.Path && a.Name > b.Name) {
			unlike = append(unlike, i)
		}
	}
	if len(rows) > 1 {
		pairs = append(pairs, 1)
	}
	for _, i := range unlike {
		if len(pairs) >= maxOrderChecks {
			break
		}
		if i != 1 {
			pairs = append(pairs, i)
		}
	}
	for _, i := range pairs {
		a, b := rows[i-1], rows[i]
		got, ok, err := next(a)
		switch {
		case err != nil:
			return Result{Status: StatusFail, Found: fmt.Sprintf("asking AQL for the rows after %s/%s failed: %s", a.Path, a.Name, err),
				Artprune: "keyset paging relies on the server's order agreeing with its $gt comparison of strings"}
		case !ok || got.Path != b.Path || got.Name != b.Name:
			shown := "nothing"
			if ok {
				shown = got.Path + "/" + got.Name
			}
			return Result{Status: StatusFail,
				Found: fmt.Sprintf("AQL sorted %s/%s right after %s/%s, but its $gt on (path, name) after %s/%s starts with %s",
					b.Path, b.Name, a.Path, a.Name, a.Path, a.Name, shown),
				Artprune: "keyset paging relies on the server's order agreeing with its $gt comparison of strings: pages could skip rows here"}
		}
	}
	found := fmt.Sprintf("AQL sorts (%d rows in path, name order; its $gt agrees, %d keyset queries)", len(rows), len(pairs))
	if len(unlike) > 0 {
		a, b := rows[unlike[0]-1], rows[unlike[0]]
		found = fmt.Sprintf("AQL sorts (%d rows; the server's collation puts %s/%s before %s/%s, unlike byte order, and its $gt agrees, %d keyset queries)",
			len(rows), a.Path, a.Name, b.Path, b.Name, len(pairs))
	}
	return Result{Status: StatusOK, Found: found, Artprune: "pages on the sort, with the server's own $gt"}
}

func checkLimit(ctx context.Context, env Env) Result {
	if r, ok := needRepo(env); !ok {
		return r
	}
	first, trimmed, err := env.Client.AQL(ctx, probeQuery(env.Repo, ".limit(1)"))
	if err != nil {
		return Result{Status: StatusFail, Found: "AQL with .limit(1) failed: " + err.Error(), Artprune: "pages and partitions rely on .limit"}
	}
	if len(first) > 1 || trimmed {
		return Result{Status: StatusFail, Found: fmt.Sprintf(".limit(1) answered %d rows (trimmed: %v)", len(first), trimmed),
			Artprune: "an answer longer than its limit fails the repository closed"}
	}
	// A server (or a proxy) that answers fewer rows than .limit asks, without range.notification, would make a
	// short answer look whole: ask .limit(n) at the page size, and if fewer come back, whether a row lies beyond.
	n := max(env.Client.PageSize(), 2)
	rows, trimmed, err := env.Client.AQL(ctx, probeQuery(env.Repo, fmt.Sprintf(".limit(%d)", n)))
	if err != nil {
		return Result{Status: StatusFail, Found: fmt.Sprintf("AQL with .limit(%d) failed: %s", n, err), Artprune: "pages and partitions rely on .limit"}
	}
	k := len(rows)
	found := fmt.Sprintf(".limit(1) answered %d row; .limit(%d) (--page-size) answered %d rows", len(first), n, k)
	if k < n && !trimmed && k > 0 {
		more, _, err := env.Client.AQL(ctx, probeQuery(env.Repo, fmt.Sprintf(".offset(%d).limit(1)", k)))
		switch {
		case err != nil:
			return Result{Status: StatusFail, Found: found + fmt.Sprintf("; .offset(%d).limit(1) failed: %s", k, err),
				Artprune: "checks every short answer this way; where it fails, the repository fails closed"}
		case len(more) > 0:
			return Result{Status: StatusFail,
				Found: found + fmt.Sprintf(", although .offset(%d) finds more: the server cuts answers silently below .limit, without range.notification", k),
				Artprune: fmt.Sprintf("takes no short answer for a whole one: where AQL sorts the listing fails closed; without sort it splits partitions "+
					"until they fit, or fails closed; set --page-size to %d or less, and check the server's AQL result limit and any proxy", k)}
		}
		found += fmt.Sprintf(", and .offset(%d) finds no more (the repository holds %d)", k, k)
	}
	return Result{Status: StatusOK, Found: found,
		Artprune: "asks pages of --page-size rows, far below SaaS's 500,000-result cap; a trimmed answer (range.notification) fails the repository closed, " +
			"and a short answer is taken as whole only once nothing lies beyond it"}
}

func checkQueryLength(ctx context.Context, env Env) Result {
	pad := strings.Repeat("x", artifactory.MaxQueryChars)
	_, _, err := env.Client.AQL(ctx, fmt.Sprintf(`items.find({"repo":%q,"name":%q}).include("repo","path","name")`, "artprune-doctor", pad))
	var ae *artifactory.APIError
	switch {
	case err == nil:
		return Result{Status: StatusOK, Found: fmt.Sprintf("a query of more than %d characters was accepted", artifactory.MaxQueryChars),
			Artprune: fmt.Sprintf("keeps every query under %d characters all the same", artifactory.MaxQueryChars)}
	case errors.As(err, &ae) && ae.Status == http.StatusBadRequest:
		return Result{Status: StatusOK, Found: fmt.Sprintf("a query of more than %d characters was refused (HTTP 400), as documented", artifactory.MaxQueryChars),
			Artprune: fmt.Sprintf("keeps every query under %d characters, batching long ones", artifactory.MaxQueryChars)}
	}
	return Result{Status: StatusWarn, Found: "a long query failed otherwise: " + err.Error(), Artprune: "keeps queries short"}
}

func checkCompleteListing(ctx context.Context, env Env) Result {
	if r, ok := needRepo(env); !ok {
		return r
	}
	info, _ := env.Client.Server(ctx)
	n := 0
	err := env.Client.Manifests(ctx, env.Repo, func(prune.ManifestFile) error { n++; return nil })
	how := "sorted keyset pages, then the completeness probe (the same query from .offset(k), ascending and descending)"
	if !info.Sorts {
		how = "unsorted (path, name) partitions, each answered below its limit, as an admin"
	}
	switch {
	case err == nil:
		return Result{Status: StatusOK, Found: fmt.Sprintf("listed %d manifest files of %s completely (%s)", n, env.Repo, how),
			Artprune: "deletes only from listings proven complete this way"}
	case errors.Is(err, artifactory.ErrNeedsAdmin):
		return Result{Status: StatusFail, Found: err.Error(),
			Artprune: "refuses every repository on this server for this user: run artprune (and doctor) as an admin"}
	}
	return Result{Status: StatusFail, Found: err.Error(), Artprune: "deletes nothing in this repository (fail closed)"}
}

func checkConcurrency(ctx context.Context, env Env) Result {
	return Result{Status: StatusOK, Found: "not probed (it would load the server); JFrog documents 3 AQL queries in parallel by default, 429 after 10 s waiting",
		Artprune: fmt.Sprintf("runs at most %d AQL queries at once, and waits out every 429 before retrying", artifactory.MaxAQLInFlight)}
}

func checkReferrers(ctx context.Context, env Env) Result {
	if r, ok := needRepo(env); !ok {
		return r
	}
	var f *prune.ManifestFile
	err := env.Client.Manifests(ctx, env.Repo, func(m prune.ManifestFile) error {
		if f == nil {
			m := m
			f = &m
		}
		return nil
	})
	if err != nil || f == nil {
		return Result{Status: StatusSkip, Found: "no manifest to ask about", Artprune: "does not use the referrers API: it reads subject fields from the manifests themselves"}
	}
	image, _, _ := strings.Cut(f.Path, "/sha256:")
	if i := strings.LastIndexByte(image, '/'); i >= 0 && !strings.Contains(f.Path, "/sha256:") {
		image = image[:i]
	}
	resp, err := env.Client.Request(ctx, http.MethodGet, "api/docker/"+env.Repo+"/v2/"+image+"/referrers/sha256:"+f.SHA256, nil, nil)
	if err != nil {
		return Result{Status: StatusWarn, Found: "referrers request failed: " + err.Error(), Artprune: "does not use the referrers API"}
	}
	resp.Body.Close()
	found := fmt.Sprintf("GET referrers of %s: HTTP %d", image, resp.StatusCode)
	return Result{Status: StatusOK, Found: found,
		Artprune: "does not need the referrers API: OCI referrers are kept through the subject field of their manifests, and tag-schema fallback tags are ordinary tags"}
}
