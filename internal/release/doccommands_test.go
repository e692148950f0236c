package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// docFiles are the documents whose command blocks must run as written from
// the repository root.
var docFiles = []string{"README.md", "*/README.md", "cmd/*/README.md", "docs/*.md"}

// shellLangs are the info strings of command blocks.
var shellLangs = map[string]bool{"sh": true, "bash": true, "shell": true}

// codeBlock is a fenced block of a Markdown file.
type codeBlock struct {
	file string // relative to the repository root
	line int    // of the opening fence
	lang string
	text string
}

var fence = regexp.MustCompile("^\\s*```\\s*(\\S*)")

// codeBlocks returns the fenced blocks of the Markdown file name under root.
func codeBlocks(t *testing.T, root, name string) []codeBlock {
	t.Helper()
	f, err := os.Open(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		blocks []codeBlock
		cur    *codeBlock
		body   strings.Builder
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		m := fence.FindStringSubmatch(line)
		switch {
		case cur == nil && m != nil:
			cur = &codeBlock{file: name, line: n, lang: m[1]}
			body.Reset()
		case cur != nil && m != nil && m[1] == "":
			cur.text = body.String()
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			body.WriteString(line + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		t.Errorf("%s:%d: unclosed code block", name, cur.line)
	}
	return blocks
}

// TestDocCommands checks the shell command blocks (```sh, ```bash,
// ```shell) of the README files and docs/: each block, run as one from the
// repository root, must be valid shell (bash -n), and every directory it
// changes to and every ./path it names must exist where the shell would be
// at that point. Every fenced block must name its language, so that a
// command block cannot escape the check (output and diagrams are ```text).
//
// The check does not run the commands: many start servers or take minutes.
func TestDocCommands(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, pattern := range docFiles {
		m, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m {
			rel, _ := filepath.Rel(root, p)
			names = append(names, filepath.ToSlash(rel))
		}
	}
	checked := 0
	for _, name := range names {
		for _, b := range codeBlocks(t, root, name) {
			where := fmt.Sprintf("%s:%d", b.file, b.line)
			if b.lang == "" {
				t.Errorf("%s: code block without a language (use sh for commands, text for output)", where)
				continue
			}
			if !shellLangs[b.lang] {
				continue
			}
			checked++
			cmd := exec.Command(bash, "-n")
			cmd.Stdin = strings.NewReader(b.text)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s: bash -n: %v\n%s", where, err, out)
			}
			for _, problem := range checkPaths(root, b.text) {
				t.Errorf("%s: %s", where, problem)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no command blocks found")
	}
}

// checkPaths follows the working directory of script, run from root, through
// cd commands, subshells and background jobs, and returns a problem for
// every cd target and every ./path word that does not exist there.
func checkPaths(root, script string) []string {
	var problems []string
	cwd := "."         // relative to root
	var stack []string // cwd outside each open subshell
	listStart := cwd   // cwd where the current and-or list began
	expectCmd, cdNext := true, false
	redirect := false
	exists := func(p string) bool {
		_, err := os.Stat(filepath.Join(root, filepath.FromSlash(p)))
		return err == nil
	}
	for _, line := range logicalLines(script) {
		listStart, expectCmd, cdNext, redirect = cwd, true, false, false
		for _, tok := range tokens(line) {
			switch tok {
			case "(":
				stack = append(stack, cwd)
				expectCmd = true
				continue
			case ")":
				if n := len(stack); n > 0 {
					cwd, stack = stack[n-1], stack[:n-1]
				}
				continue
			case "&&", "||", "|":
				expectCmd = true
				continue
			case ";", "&":
				if tok == "&" && len(stack) == 0 {
					cwd = listStart // a background job runs in a subshell
				}
				listStart, expectCmd = cwd, true
				continue
			case ">", ">>", "<", ">&", "&>":
				redirect = true
				continue
			}
			switch {
			case redirect:
				redirect = false
			case cdNext:
				cdNext = false
				if strings.HasPrefix(tok, "/") || strings.HasPrefix(tok, "~") || strings.HasPrefix(tok, "$") {
					break
				}
				dir := path.Join(cwd, tok)
				if !exists(dir) {
					problems = append(problems, fmt.Sprintf("cd %s: no directory %s from the repository root", tok, dir))
				}
				cwd = dir
			case expectCmd && strings.Contains(tok, "=") && !strings.HasPrefix(tok, "-"):
				// an environment assignment before the command
			case expectCmd && (tok == "do" || tok == "then" || tok == "else" || tok == "{"):
			case expectCmd && tok == "cd":
				cdNext, expectCmd = true, false
			default:
				expectCmd = false
				if strings.HasPrefix(tok, "./") && !strings.Contains(tok, "...") && !exists(path.Join(cwd, tok)) {
					problems = append(problems, fmt.Sprintf("%s: no such file %s from the repository root", tok, path.Join(cwd, tok)))
				}
			}
		}
	}
	return problems
}

// logicalLines splits script into lines, joining those continued with a
// trailing backslash.
func logicalLines(script string) []string {
	var out []string
	var cur strings.Builder
	for line := range strings.SplitSeq(script, "\n") {
		if s, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(line)
		out = append(out, cur.String())
		cur.Reset()
	}
	return out
}

// tokens splits a shell line into words and operators. Quoted strings and
// $(…) substitutions stay inside their word; a # that starts a word starts
// a comment.
func tokens(line string) []string {
	var out []string
	var word strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			out = append(out, word.String())
			word.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			flush()
		case c == '#' && !inWord:
			return out
		case c == '\'' || c == '"':
			inWord = true
			j := i + 1
			for j < len(line) && line[j] != c {
				if c == '"' && line[j] == '\\' {
					j++
				}
				j++
			}
			word.WriteString(line[i+1 : min(j, len(line))])
			i = j
		case c == '\\' && i+1 < len(line):
			inWord = true
			i++
			word.WriteByte(line[i])
		case c == '$' && i+1 < len(line) && line[i+1] == '(':
			inWord = true
			depth, j := 0, i+1
			for ; j < len(line); j++ {
				if line[j] == '(' {
					depth++
				} else if line[j] == ')' {
					if depth--; depth == 0 {
						break
					}
				}
			}
			word.WriteString(line[i:min(j+1, len(line))])
			i = j
		case strings.IndexByte("()|&;<>", c) >= 0:
			if c == '>' && word.String() == "2" {
				word.Reset()
				inWord = false
			} else {
				flush()
			}
			op := string(c)
			for _, long := range []string{"&&", "||", ">>", ">&", "&>"} {
				if strings.HasPrefix(line[i:], long) {
					op = long
					break
				}
			}
			i += len(op) - 1
			out = append(out, op)
		default:
			inWord = true
			word.WriteByte(c)
		}
	}
	flush()
	return out
}

// TestCheckPaths keeps the path check honest: it must catch the mistakes it
// exists for.
func TestCheckPaths(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"a/b", "c"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "a/run.sh"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		script string
		bad    int
	}{
		{"(cd a && go test ./...)\n(cd a/b && go test .)\n", 0},
		{"cd a && go test ./...\ncd a/b && go test .\n", 1}, // the second cd assumes the root
		{"cd a\n./run.sh -x\ncd b\n", 0},
		{"./run.sh\n", 1},
		{"(cd a && ./run.sh) &\n(cd c)\n", 0},
		{"cd a && ./run.sh &\ncd c # the background job's cd does not count\n", 0},
		{"X=1 Y=2 cd c && ls > ./nowhere 2>&1\n", 0},
		{"echo \"$(cd nowhere)\" 'cd nowhere' # cd nowhere\n", 0},
		{"go build -o x ./missing\n", 1},
		{"for i in $(seq 3); do\n  (cd a/b && go test .)\ndone > out.txt\n", 0},
		{"cd \\\n  nowhere\n", 1},
	} {
		if got := checkPaths(root, tc.script); len(got) != tc.bad {
			t.Errorf("%q: %d problems %q, want %d", tc.script, len(got), got, tc.bad)
		}
	}
}
