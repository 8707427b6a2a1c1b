package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// docBlocks returns the fenced blocks of a Markdown file in order, with their language.
func docBlocks(t *testing.T, path string) []struct{ lang, body string } {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?ms)^```([a-z]*)\n(.*?)^```")
	var out []struct{ lang, body string }
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		out = append(out, struct{ lang, body string }{m[1], m[2]})
	}
	return out
}

// parseOnly says which documented command lines are only parsed: they need a real server (a JFrog CLI
// configuration, a Pushgateway) or run until stopped (serve).
func parseOnly(line string) bool {
	return strings.HasPrefix(line, "artprune serve") || strings.Contains(line, "--server-id") || strings.Contains(line, "--pushgateway")
}

// TestDocumentedCommands runs, in order and in one directory, every "artprune ..." line of the sh blocks of the
// README and docs/ against the emulator (JF_URL set; token.txt and the README's config file provided), and checks
// each exits 0; lines that need a real server or run forever are parsed against the command tree instead.
func TestDocumentedCommands(t *testing.T) {
	srv, _ := newSeedServer(t)
	dir := t.TempDir()
	writeFile(t, dir, "token.txt", testToken+"\n")
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	docs, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	docs = append([]string{filepath.Join(root, "README.md")}, docs...)
	t.Chdir(dir)
	ran, parsed, configs := 0, 0, 0
	for _, doc := range docs {
		for _, blk := range docBlocks(t, doc) {
			switch blk.lang {
			case "yaml":
				if strings.Contains(blk.body, "access-token-file: token.txt") {
					writeFile(t, dir, "artprune.yaml", blk.body)
					configs++
				}
				if strings.Contains(blk.body, "repo:") {
					checkConfigYAML(t, doc+" yaml block", blk.body)
				}
			case "sh":
				for _, line := range artpruneLines(blk.body) {
					where := filepath.Base(doc)
					checkCommandLine(t, where, line)
					if parseOnly(line) {
						parsed++
						continue
					}
					words, err := shellWords(line)
					if err != nil {
						t.Fatal(err)
					}
					res := runCLI(t, map[string]string{"JF_URL": srv.ArtifactoryURL()}, words[1:]...)
					ran++
					if res.code != ExitOK {
						t.Errorf("%s: %q: exit %d\nstderr:\n%s", where, line, res.code, res.stderr)
					}
				}
			}
		}
	}
	if ran < 6 || parsed < 2 || configs != 1 {
		t.Errorf("ran %d documented commands, parsed %d, found %d config files: the docs lost their examples?", ran, parsed, configs)
	}
}
