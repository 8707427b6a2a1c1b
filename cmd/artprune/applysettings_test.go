package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/artprune/artprune/artifactory/artifactorytest"
	"github.com/artprune/artprune/planfile"
)

// TestApplyRefusesWeakenedPlanSettings: a plan file edited to weaken its settings (keep property off or changed, a
// shorter grace period) is refused by apply, exit 2 and nothing deleted, unless apply's own command line gives the
// same values; a flag that differs from the plan is refused too. apply shows the plan's settings first. After the
// plan, the dangling folder sc.Dangling[0] gets the default keep property, so what is deleted shows which keep
// property apply judged with.
func TestApplyRefusesWeakenedPlanSettings(t *testing.T) {
	cases := []struct {
		name      string
		edit      func(pl *planfile.Plan)
		flags     []string
		code      int
		stderr    []string
		protected bool // sc.Dangling[0] is kept: the default keep property applies
	}{
		{"defaults", nil, nil, ExitOK, []string{"the plan's settings", "min-age 1d, keep-property artprune.keep=true"}, true},
		{"keep property off", func(pl *planfile.Plan) { pl.KeepProperty = "" }, nil, ExitUsage,
			[]string{"weaker than the defaults", `keep-property ""`, "protection by property is off", "--keep-property ''"}, true},
		{"keep property off, confirmed", func(pl *planfile.Plan) { pl.KeepProperty = "" }, []string{"--keep-property", ""}, ExitOK,
			[]string{"keep-property none (protection off)", "confirmed on the command line"}, false},
		{"another keep property", func(pl *planfile.Plan) { pl.KeepProperty = "nobody.sets=this" }, nil, ExitUsage,
			[]string{"--keep-property nobody.sets=this"}, true},
		{"another keep property, confirmed", func(pl *planfile.Plan) { pl.KeepProperty = "nobody.sets=this" },
			[]string{"--keep-property", "nobody.sets=this"}, ExitOK, nil, false},
		{"a grace period of a second", func(pl *planfile.Plan) { pl.MinAgeSeconds = 1 }, nil, ExitUsage,
			[]string{`min-age "1s"`, "--min-age 1s"}, true},
		{"a grace period of a second, confirmed", func(pl *planfile.Plan) { pl.MinAgeSeconds = 1 }, []string{"--min-age", "1s"}, ExitOK,
			[]string{"min-age 1s"}, true},
		{"a grace period of a second, another flag", func(pl *planfile.Plan) { pl.MinAgeSeconds = 1 }, []string{"--min-age", "2s"}, ExitUsage,
			[]string{"--min-age 2s differs", "1s"}, true},
		{"a longer grace period needs no flag", func(pl *planfile.Plan) { pl.MinAgeSeconds = 2 * 86400 }, nil, ExitOK, []string{"min-age 2d"}, true},
		{"defaults, a flag that differs", nil, []string{"--keep-property", "other"}, ExitUsage, []string{"differs from the keep property"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, sc := newSeedServer(t)
			planPath := filepath.Join(t.TempDir(), "plan.json")
			if res := runCLI(t, env(srv), "plan", "--repo", "docker-local", "--out", planPath, "-q"); res.code != ExitOK {
				t.Fatalf("plan: exit %d\n%s", res.code, res.stderr)
			}
			pl, err := planfile.ReadFile(planPath)
			if err != nil {
				t.Fatal(err)
			}
			if tc.edit != nil {
				tc.edit(pl)
				if err := planfile.WriteFile(planPath, pl); err != nil {
					t.Fatal(err)
				}
			}
			protectedFolder := sc.Dangling[0]
			if err := srv.Store().SetProps("docker-local", protectedFolder, map[string][]string{"artprune.keep": {"true"}}, true); err != nil {
				t.Fatal(err)
			}
			before := digestFolders(t, srv, "docker-local")
			srv.Stats().Reset()
			res := runCLI(t, env(srv), append([]string{"apply", planPath}, tc.flags...)...)
			if res.code != tc.code {
				t.Fatalf("apply: exit %d, want %d\n%s", res.code, tc.code, res.stderr)
			}
			for _, s := range tc.stderr {
				if !strings.Contains(res.stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, res.stderr)
				}
			}
			after := digestFolders(t, srv, "docker-local")
			if tc.code != ExitOK {
				if counts, _ := srv.Stats().Snapshot(); counts[string(artifactorytest.ClassDelete)] != 0 || !slices.Equal(after, before) {
					t.Errorf("a refused apply sent %d deletes; folders now %v", counts[string(artifactorytest.ClassDelete)], after)
				}
				return
			}
			var want []string // the live folders, and the protected one when the default keep property applies
			for f := range sc.Live {
				want = append(want, f)
			}
			if tc.protected {
				want = append(want, protectedFolder)
			}
			slices.Sort(want)
			if !slices.Equal(after, want) {
				t.Errorf("after apply:\n%v\nwant\n%v", after, want)
			}
		})
	}
}
