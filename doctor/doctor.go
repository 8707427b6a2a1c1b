// Package doctor checks, on a user's own Artifactory, the assumptions artprune's safety rests on: the edition and
// what its AQL does (sort, limits, trimming, the query length limit), whether the caller can prove complete
// listings, and, given a scratch repository it may fill and empty, the layout, properties and delete semantics
// of images pushed through the Docker API. Each check is independent (a [Check] in a list), read-only unless it
// is a scratch check, and says what it found, what artprune will do there and which guarantee holds.
package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/artprune/artprune/artifactory"
)

// Status is the outcome of a check.
type Status string

// Statuses. Only StatusFail makes the doctor fail.
const (
	StatusOK   Status = "ok"   // what artprune needs holds
	StatusWarn Status = "warn" // artprune works, with a limitation worth knowing
	StatusFail Status = "fail" // artprune will refuse (fail closed) or its assumption does not hold
	StatusSkip Status = "skip" // not checked (say why)
)

// Env is what checks run against.
type Env struct {
	Client *artifactory.Client
	// Repo is a local Docker repository to check listings on; "" skips the checks that need one.
	Repo string
	// Scratch is a local Docker repository the scratch checks may fill and empty; "" skips them.
	Scratch string
}

// Result is what one check found.
type Result struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	// Found is what the server showed.
	Found string `json:"found"`
	// Artprune is what artprune does with it, and which guarantee holds.
	Artprune string `json:"artprune"`
}

// Check is one independent check.
type Check struct {
	Name string
	// Scratch checks write to Env.Scratch; they run only when it is set.
	Scratch bool
	Run     func(ctx context.Context, env Env) Result
}

// Report is the outcome of a doctor run.
type Report struct {
	Server  artifactory.ServerInfo `json:"server"`
	Results []Result               `json:"checks"`
}

// OK reports whether every check passed or warned: everything artprune needs holds.
func (r Report) OK() bool {
	for _, res := range r.Results {
		if res.Status == StatusFail {
			return false
		}
	}
	return true
}

// Run runs checks in order. A check whose prerequisites are missing (no repository, no scratch repository) is
// reported as skipped; ctx ending stops the run.
func Run(ctx context.Context, env Env, checks []Check) (Report, error) {
	var rep Report
	info, err := env.Client.Server(ctx)
	if err != nil {
		return rep, fmt.Errorf("detect the Artifactory edition: %w", err)
	}
	rep.Server = info
	for _, c := range checks {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		var res Result
		if c.Scratch && env.Scratch == "" {
			res = Result{Status: StatusSkip, Found: "no --scratch-repo given", Artprune: "give a local Docker repository artprune may fill and empty to check pushes, layouts and deletes"}
		} else {
			res = c.Run(ctx, env)
		}
		res.Name = c.Name
		rep.Results = append(rep.Results, res)
	}
	if info2, ok := env.Client.KnownServer(); ok {
		rep.Server = info2 // a refused sort may have taught the client more
	}
	return rep, nil
}

// WriteText writes the report for people: one block per check.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "artifactory: %s\n  detected by: %s\n", r.Server, r.Server.How)
	for _, res := range r.Results {
		fmt.Fprintf(&b, "[%s] %s\n  found: %s\n  artprune: %s\n", strings.ToUpper(string(res.Status)), res.Name, res.Found, res.Artprune)
	}
	if r.OK() {
		b.WriteString("doctor: everything artprune needs holds\n")
	} else {
		b.WriteString("doctor: some checks failed; artprune fails closed there (see above)\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as indented JSON.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Report
		OK bool `json:"ok"`
	}{r, r.OK()})
}
