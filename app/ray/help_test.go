package main

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
)

// readmeCLIBlock returns the fenced block under the README's "## CLI"
// heading and where it sits in the file.
func readmeCLIBlock(t *testing.T, readme string) (block string, start, end int) {
	t.Helper()
	h := strings.Index(readme, "\n## CLI\n")
	if h < 0 {
		t.Fatal("README has no ## CLI section")
	}
	open := strings.Index(readme[h:], "```\n")
	if open < 0 {
		t.Fatal("README's CLI section has no code block")
	}
	start = h + open + len("```\n")
	closing := strings.Index(readme[start:], "```\n")
	if closing < 0 {
		t.Fatal("README's CLI code block is not closed")
	}
	end = start + closing
	return readme[start:end], start, end
}

// TestREADMECLIMatchesHelp: the README's CLI block is what the command
// table prints. UPDATE_README=1 rewrites the block from the table.
func TestREADMECLIMatchesHelp(t *testing.T) {
	const path = "../../README.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	block, start, end := readmeCLIBlock(t, readme)
	want := cliReference()
	if os.Getenv("UPDATE_README") == "1" {
		if err := os.WriteFile(path, []byte(readme[:start]+want+readme[end:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if block != want {
		t.Errorf("README's CLI block differs from the command table (UPDATE_README=1 go test -run TestREADMECLIMatchesHelp ./app/ray rewrites it)\nREADME:\n%s\ntable:\n%s", block, want)
	}
	var out, errw bytes.Buffer
	if code := run([]string{"--help"}, &out, &errw); code != 0 || !strings.Contains(out.String(), want) {
		t.Errorf("ray --help (exit %d) does not print the table:\n%s", code, out.String())
	}
}

// TestEveryCommandHelp: `ray X --help` exits 0 for every command in the
// table and every registered command, prints X's synopsis, and lists
// every flag of a flag-parsing command.
func TestEveryCommandHelp(t *testing.T) {
	names := map[string]bool{"daemon": true, "relay": true, "help": true}
	for name := range commands {
		names[name] = true
	}
	for _, d := range cliTable {
		for _, c := range d.cmds {
			names[c] = true
		}
	}
	delete(names, "service-run") // what the OS service manager runs; not for people
	for name := range names {
		for _, h := range []string{"--help", "-h"} {
			var out, errw bytes.Buffer
			args := []string{"--socket", t.TempDir() + "/none.sock", name, h}
			code := run(args, &out, &errw)
			if code != 0 {
				t.Errorf("ray %s %s: exit %d, stderr %q", name, h, code, errw.String())
				continue
			}
			d, ok := docFor(name)
			if !ok {
				t.Errorf("command %q is missing from the help table", name)
				continue
			}
			if name != "help" && !strings.Contains(out.String(), d.syn[0]) {
				t.Errorf("ray %s %s lacks its synopsis %q:\n%s", name, h, d.syn[0], out.String())
			}
		}
	}
	// Every flag a command defines (as its --help lists them) appears in
	// its synopsis.
	for _, d := range cliTable {
		syn := strings.Join(d.syn, " ")
		for _, c := range d.cmds {
			var out, errw bytes.Buffer
			run([]string{"--socket", t.TempDir() + "/none.sock", c, "--help"}, &out, &errw)
			for _, line := range strings.Split(out.String(), "\n") {
				name, ok := strings.CutPrefix(line, "  -")
				if !ok {
					continue
				}
				name, _, _ = strings.Cut(name, " ")
				if !strings.Contains(syn, "-"+name) {
					t.Errorf("%s: flag -%s is not in the synopsis %q", c, name, syn)
				}
			}
		}
	}
}

// run executes one command line with no input and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	return runIO(args, strings.NewReader(""), stdout, stderr)
}
