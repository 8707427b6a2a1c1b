package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

// runUpdateDoc replaces the text between "<!-- SECTION:begin -->" and "<!-- SECTION:end -->" in a Markdown file
// with a measured table and the machine and command that produced it.
func runUpdateDoc(args []string) error {
	fs := flag.NewFlagSet("update-doc", flag.ContinueOnError)
	doc := fs.String("doc", "docs/benchmarks.md", "Markdown file")
	section := fs.String("section", "", "section name")
	table := fs.String("table", "", "file holding the measured table")
	metaFile := fs.String("meta", "", "meta.env of the run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *section == "" || *table == "" || *metaFile == "" {
		return errors.New("update-doc: --section, --table and --meta are required")
	}
	body, err := os.ReadFile(*table)
	if err != nil {
		return err
	}
	meta, err := readMeta(*metaFile)
	if err != nil {
		return err
	}
	var b strings.Builder
	load := ""
	if meta["LOAD"] != "" {
		load = " (load average before the run: " + meta["LOAD"] + ")"
	}
	fmt.Fprintf(&b, "Measured %s on %s, %s, %s, %s%s, commit %s.\n\n",
		meta["DATE"], meta["CPU"], meta["MEMORY"], meta["KERNEL"], meta["GO"], load, meta["COMMIT"])
	if c := meta["COMMAND"]; c != "" {
		fmt.Fprintf(&b, "Command: `%s`\n\n", c)
	}
	b.Write(body)
	return replaceSection(*doc, *section, b.String())
}

func replaceSection(path, section, content string) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	begin, end := "<!-- "+section+":begin -->", "<!-- "+section+":end -->"
	s := string(old)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s: no %s ... %s markers", path, begin, end)
	}
	s = s[:i+len(begin)] + "\n" + strings.TrimRight(content, "\n") + "\n" + s[j:]
	return os.WriteFile(path, []byte(s), 0o644)
}
