package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/artprune/artprune/internal/config"
)

// repoRoot is the repository's root, from this package's directory.
const repoRoot = "../.."

// yamlDocs returns every YAML document of path.
func yamlDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []map[string]any
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
	return docs
}

// dig walks a decoded YAML value by keys and list indexes.
func dig(v any, path ...any) (any, bool) {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = m[k]; !ok {
				return nil, false
			}
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil, false
			}
			v = l[k]
		}
	}
	return v, true
}

func mustDig(t *testing.T, where string, v any, path ...any) any {
	t.Helper()
	got, ok := dig(v, path...)
	if !ok || got == nil || got == "" {
		t.Errorf("%s: missing %v", where, path)
	}
	return got
}

// shellWords splits a command line as a POSIX shell would for plain words and quotes (no expansion: "$X" stays).
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unclosed quote in %q", s)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				return nil, fmt.Errorf("unclosed quote in %q", s)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '#' && !inWord:
			i = len(s)
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// checkArgs parses args (without "artprune") against the real command tree: the command, its flags and values,
// and its positional arguments must all be accepted.
func checkArgs(args []string) error {
	root := NewRootCmd(Streams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard}, func(string) string { return "" })
	cmd, rest, err := root.Find(args)
	if err != nil {
		return err
	}
	if cmd == root {
		return fmt.Errorf("no artprune command in %q", args)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		return err
	}
	if cmd.Args != nil {
		if err := cmd.Args(cmd, cmd.Flags().Args()); err != nil {
			return err
		}
	}
	return nil
}

// artpruneLines returns the artprune command lines in a CI script or run: string.
func artpruneLines(s string) []string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "artprune ") {
			out = append(out, line)
		}
	}
	return out
}

func checkCommandLine(t *testing.T, where, line string) {
	t.Helper()
	words, err := shellWords(line)
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	if err := checkArgs(words[1:]); err != nil {
		t.Errorf("%s: %q: %v", where, line, err)
	}
}

// checkConfigYAML checks an artprune config file's text: strict keys, and every value accepted by its flag.
func checkConfigYAML(t *testing.T, where, text string) {
	t.Helper()
	f, err := config.Parse([]byte(text))
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	root := NewRootCmd(Streams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard}, func(string) string { return "" })
	known := knownConfigKeys(root)
	f.Path = where
	if err := f.Check(func(k string) bool { return known[k] }); err != nil {
		t.Error(err)
	}
	for _, e := range f.Entries {
		for _, name := range []string{"prune", "serve"} {
			cmd, _, _ := root.Find([]string{name})
			if fl := cmd.Flags().Lookup(e.Key); fl != nil {
				for _, v := range e.Values {
					if err := cmd.Flags().Set(e.Key, v); err != nil {
						t.Errorf("%s: line %d: %s %q: %v", where, e.Line, e.Key, v, err)
					}
				}
			}
		}
	}
}

func checkPodSpec(t *testing.T, where string, pod any) {
	t.Helper()
	if v, _ := dig(pod, "securityContext", "runAsNonRoot"); v != true {
		t.Errorf("%s: pod securityContext.runAsNonRoot is not true", where)
	}
	c := mustDig(t, where, pod, "containers", 0)
	mustDig(t, where, c, "name")
	image, _ := mustDig(t, where, c, "image").(string)
	if !strings.Contains(image, ":") || strings.HasSuffix(image, ":latest") {
		t.Errorf("%s: image %q is not pinned to a tag", where, image)
	}
	if v, _ := dig(c, "securityContext", "readOnlyRootFilesystem"); v != true {
		t.Errorf("%s: container securityContext.readOnlyRootFilesystem is not true", where)
	}
	if v, _ := dig(c, "securityContext", "allowPrivilegeEscalation"); v != false {
		t.Errorf("%s: allowPrivilegeEscalation is not false", where)
	}
	raw, _ := mustDig(t, where, c, "args").([]any)
	var args []string
	for _, a := range raw {
		args = append(args, fmt.Sprint(a))
	}
	if err := checkArgs(args); err != nil {
		t.Errorf("%s: args %q: %v", where, args, err)
	}
	// Every mounted volume exists.
	vols := map[string]bool{}
	if vs, ok := dig(pod, "volumes"); ok {
		for _, v := range vs.([]any) {
			vols[fmt.Sprint(v.(map[string]any)["name"])] = true
		}
	}
	if ms, ok := dig(c, "volumeMounts"); ok {
		for _, m := range ms.([]any) {
			if name := fmt.Sprint(m.(map[string]any)["name"]); !vols[name] {
				t.Errorf("%s: volume mount %q has no volume", where, name)
			}
		}
	}
}

// TestDeployManifests validates every Kubernetes manifest of deploy/ against the required fields of its kind, and
// the artprune command lines in them against the real command tree.
func TestDeployManifests(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(repoRoot, "deploy", "kubernetes", "*.yaml"))
	if len(files) < 2 {
		t.Fatalf("deploy/kubernetes has %d manifests", len(files))
	}
	kinds := map[string]int{}
	for _, path := range files {
		for i, d := range yamlDocs(t, path) {
			where := fmt.Sprintf("%s#%d", filepath.Base(path), i)
			kind, _ := mustDig(t, where, d, "kind").(string)
			mustDig(t, where, d, "apiVersion")
			mustDig(t, where, d, "metadata", "name")
			kinds[kind]++
			switch kind {
			case "CronJob":
				if d["apiVersion"] != "batch/v1" {
					t.Errorf("%s: CronJob apiVersion %v", where, d["apiVersion"])
				}
				mustDig(t, where, d, "spec", "schedule")
				if v, _ := dig(d, "spec", "concurrencyPolicy"); v != "Forbid" {
					t.Errorf("%s: concurrencyPolicy %v, want Forbid", where, v)
				}
				if v, _ := dig(d, "spec", "jobTemplate", "spec", "template", "spec", "restartPolicy"); v != "Never" && v != "OnFailure" {
					t.Errorf("%s: restartPolicy %v", where, v)
				}
				checkPodSpec(t, where, mustDig(t, where, d, "spec", "jobTemplate", "spec", "template", "spec"))
			case "Deployment":
				if d["apiVersion"] != "apps/v1" {
					t.Errorf("%s: Deployment apiVersion %v", where, d["apiVersion"])
				}
				sel, _ := mustDig(t, where, d, "spec", "selector", "matchLabels").(map[string]any)
				labels, _ := mustDig(t, where, d, "spec", "template", "metadata", "labels").(map[string]any)
				for k, v := range sel {
					if labels[k] != v {
						t.Errorf("%s: selector %s=%v does not match the template's labels", where, k, v)
					}
				}
				if v, _ := dig(d, "spec", "replicas"); v != 1 {
					t.Errorf("%s: replicas %v: two replicas would prune at once", where, v)
				}
				if v, _ := dig(d, "spec", "strategy", "type"); v != "Recreate" {
					t.Errorf("%s: strategy %v: a rolling update runs two pods at once", where, v)
				}
				checkPodSpec(t, where, mustDig(t, where, d, "spec", "template", "spec"))
			case "Service":
				mustDig(t, where, d, "spec", "selector")
				mustDig(t, where, d, "spec", "ports", 0, "port")
			case "ConfigMap":
				data, _ := mustDig(t, where, d, "data").(map[string]any)
				if text, ok := data["config.yaml"].(string); ok {
					checkConfigYAML(t, where+" config.yaml", text)
				}
			default:
				t.Errorf("%s: unexpected kind %q", where, kind)
			}
		}
	}
	for _, k := range []string{"CronJob", "Deployment", "Service", "ConfigMap"} {
		if kinds[k] == 0 {
			t.Errorf("no %s in deploy/kubernetes", k)
		}
	}
}

// TestCIExamples validates the GitHub Actions and GitLab CI examples and the example config file.
func TestCIExamples(t *testing.T) {
	gh := yamlDocs(t, filepath.Join(repoRoot, "examples", "github-actions.yml"))[0]
	mustDig(t, "github-actions.yml", gh, "on")
	jobs, _ := mustDig(t, "github-actions.yml", gh, "jobs").(map[string]any)
	lines := 0
	for name, j := range jobs {
		where := "github-actions.yml job " + name
		mustDig(t, where, j, "runs-on")
		steps, _ := mustDig(t, where, j, "steps").([]any)
		for i, s := range steps {
			m := s.(map[string]any)
			if m["uses"] == nil && m["run"] == nil {
				t.Errorf("%s step %d: neither uses nor run", where, i)
			}
			if run, ok := m["run"].(string); ok {
				for _, l := range artpruneLines(run) {
					lines++
					checkCommandLine(t, where, l)
				}
			}
		}
	}
	gl := yamlDocs(t, filepath.Join(repoRoot, "examples", "gitlab-ci.yml"))[0]
	stages, _ := mustDig(t, "gitlab-ci.yml", gl, "stages").([]any)
	stageSet := map[any]bool{}
	for _, s := range stages {
		stageSet[s] = true
	}
	for name, j := range gl {
		m, ok := j.(map[string]any)
		if !ok || name == "default" || name == "stages" || name == "variables" {
			continue
		}
		where := "gitlab-ci.yml job " + name
		if !stageSet[m["stage"]] {
			t.Errorf("%s: stage %v is not in stages", where, m["stage"])
		}
		script, _ := mustDig(t, where, m, "script").([]any)
		for _, s := range script {
			for _, l := range artpruneLines(fmt.Sprint(s)) {
				lines++
				checkCommandLine(t, where, l)
			}
		}
	}
	if lines < 4 {
		t.Errorf("only %d artprune command lines in the CI examples", lines)
	}
	b, err := os.ReadFile(filepath.Join(repoRoot, "examples", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	checkConfigYAML(t, "examples/config.yaml", string(b))
}

// TestDockerfile lints the Dockerfile structurally; `make image-check` (run by .ci/run) builds the image for real
// and checks its configuration and files. The image is one stage from scratch holding what `make build` made: its
// COPY sources are files of the build context (bin/image), never a URL or another stage.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var froms, copies []string
	var user, entrypoint string
	// Join continuation lines.
	text := strings.ReplaceAll(string(b), "\\\n", " ")
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		instr, rest, _ := strings.Cut(line, " ")
		switch strings.ToUpper(instr) {
		case "FROM":
			froms = append(froms, rest)
		case "USER":
			user = strings.TrimSpace(rest)
		case "ENTRYPOINT":
			entrypoint = strings.TrimSpace(rest)
		case "COPY":
			copies = append(copies, rest)
		case "ADD", "RUN":
			t.Errorf("%s in a FROM-scratch image (nothing can run there; copy files instead): %s", instr, line)
		}
	}
	if len(froms) != 1 || froms[0] != "scratch" {
		t.Errorf("stages %q: want one stage FROM scratch (the binary is built outside, by make build)", froms)
	}
	wantCopies := map[string]bool{"artprune /usr/local/bin/artprune": true, "ca-certificates.crt /etc/ssl/certs/ca-certificates.crt": true}
	for _, c := range copies {
		if !wantCopies[c] {
			t.Errorf("COPY %s: want only the binary and the CA bundle from the build context", c)
		}
		delete(wantCopies, c)
	}
	for c := range wantCopies {
		t.Errorf("no COPY %s", c)
	}
	uid, _, _ := strings.Cut(user, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("USER %q: want a numeric non-root user", user)
	}
	if entrypoint != `["/usr/local/bin/artprune"]` {
		t.Errorf("ENTRYPOINT %q: want the exec form of /usr/local/bin/artprune", entrypoint)
	}
	mk, err := os.ReadFile(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.version=", "-X main.commit=", "./cmd/artprune"} {
		if !strings.Contains(string(mk), want) {
			t.Errorf("make build does not use %s", want)
		}
	}
}

// TestCompletion checks that the shell completion command works.
func TestCompletion(t *testing.T) {
	for _, sh := range []string{"bash", "zsh", "fish", "powershell"} {
		res := runCLI(t, map[string]string{}, "completion", sh)
		if res.code != ExitOK || !strings.Contains(res.stdout, "artprune") {
			t.Errorf("completion %s: exit %d, %d bytes\n%s", sh, res.code, len(res.stdout), res.stderr)
		}
	}
}

var _ = cobra.NoArgs
