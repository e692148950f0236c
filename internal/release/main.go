// Command release checks that every published sessionkit module can be
// installed by someone outside this repository, as a module proxy would
// serve it. Run it from the repository root:
//
//	go run ./internal/release            # check
//	go run ./internal/release -tidy      # rewrite the published go.mod/go.sum files first
//
// It builds the zip, .mod and .info of every published module at the version
// the modules require of each other (see docs/RELEASING.md), lays them out as
// a file-based module proxy, and then, outside the workspace (GOWORK=off, a
// fresh module cache, no checksum database for sessionkit's own modules):
//
//   - checks each published go.mod: no replace, sessionkit requirements only
//     on published modules at the release version, no internal package of
//     another module imported, go.mod and go.sum tidy;
//   - creates a user module that go-gets every published library, builds
//     the README's quick start and every library package, and vets them;
//   - builds the library modules that claim an older Go than the current
//     toolchain with exactly that Go release (GOTOOLCHAIN);
//   - go-installs cmd/authserver and cmd/sessionctl from the proxy, starts
//     authserver on a free port, checks that /healthz answers and that
//     sessionctl reads the app's session store.
//
// Any failure names the module and the rule it broke, and the command exits
// with status 1.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	"golang.org/x/mod/zip"
)

// modulePrefix is the path of the root module; every other module's path
// starts with it.
const modulePrefix = "github.com/sessionkit/sessionkit"

// published lists the directories of the modules users depend on, in the
// order they are tagged: the root first, then the stores and other
// libraries, then the app. Every module in go.work is either here or in
// testOnly, so that adding a module forces a decision.
var published = []string{
	".",
	"redislayout",
	"redisstore",
	"rueidisstore",
	"mongostore",
	"pgstore",
	"sqlitestore",
	"sessionprom",
	"sessionotel",
	"ginsession",
	"echosession",
	"cmd",
}

// testOnly lists the modules that hold tests and test tooling. They are
// never tagged; only other test modules may depend on them.
var testOnly = []string{
	"bench",
	"cmd/authserver/e2e",
	"cmd/sessionctltest",
	"internal/ferretdbtest",
	"internal/redissuite",
	"internal/release",
	"internal/testserver",
	"interop",
	"mongostore/mongotest",
	"pgstore/pgtest",
	"redisstore/redistest",
	"rueidisstore/rueidistest",
}

// app is the published module that holds the commands rather than a
// library, and commands are the commands it holds.
const app = "cmd"

var commands = []string{"authserver", "sessionctl"}

// quickstartMarker precedes the README's quick start code block.
const quickstartMarker = "<!-- quickstart: examples/quickstart/main.go -->\n```go\n"

func main() {
	tidy := flag.Bool("tidy", false, "run go mod tidy in every published module (against the local proxy) before checking")
	keep := flag.Bool("keep", false, "keep the work directory (proxy, user module) and print its path")
	flag.Parse()
	log := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "release: "+format+"\n", args...) }
	if err := run(*tidy, *keep, log); err != nil {
		fmt.Fprintf(os.Stderr, "release check FAILED: %v\n", err)
		os.Exit(1)
	}
	log("all checks passed")
}

// mod is one module of the repository.
type mod struct {
	dir  string // relative to the repository root, "." for the root
	path string // module path
	file *modfile.File
}

func run(tidy, keep bool, log func(string, ...any)) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, "go.work")); err != nil {
		return errors.New("run it from the repository root (where go.work is)")
	}
	work, err := os.MkdirTemp("", "sessionkit-release-")
	if err != nil {
		return err
	}
	if keep {
		log("work directory: %s", work)
	} else {
		defer os.RemoveAll(work)
	}

	mods, err := readModules(root)
	if err != nil {
		return err
	}
	version, err := releaseVersion(mods)
	if err != nil {
		return err
	}
	log("version %s, %d published modules", version, len(published))

	byPath := map[string]*mod{}
	for _, m := range mods {
		byPath[m.path] = m
	}
	for _, dir := range published {
		if err := checkGoMod(root, mods[dir], byPath, version); err != nil {
			return err
		}
	}

	proxy := filepath.Join(work, "proxy")
	for _, dir := range published {
		if err := addToProxy(root, proxy, mods[dir], version); err != nil {
			return err
		}
	}
	gomodcache, err := goEnv("GOMODCACHE")
	if err != nil {
		return err
	}
	env := []string{
		"GOWORK=off",
		"GOFLAGS=-buildvcs=false",
		// Our modules are not in the checksum database until they are
		// tagged and fetched once; everything else is verified as usual.
		"GONOSUMDB=" + modulePrefix,
		"GOMODCACHE=" + filepath.Join(work, "modcache"),
		// Our modules come from the file proxy; their dependencies from the
		// local module cache when it has them, else from the real proxy.
		"GOPROXY=" + fileURL(proxy) + "," + fileURL(filepath.Join(gomodcache, "cache", "download")) + "," + realProxy(),
	}
	defer goCmd(work, env, "clean", "-modcache") // the cache is read-only; let go remove it

	for _, dir := range published {
		if err := checkTidy(filepath.Join(root, dir), env, tidy); err != nil {
			return fmt.Errorf("module %s: rule \"go.mod and go.sum are tidy for a user outside the workspace\": %v\n(fix: go run ./internal/release -tidy)", mods[dir].path, err)
		}
	}
	if tidy {
		// The tidied files are what gets published.
		for _, dir := range published {
			if err := addToProxy(root, proxy, mods[dir], version); err != nil {
				return err
			}
		}
	}
	log("go.mod files: no replace, real versions, no foreign internal imports, tidy")

	if err := checkUserModule(root, work, env, mods, version, log); err != nil {
		return err
	}
	if err := checkOldestGo(work, env, mods, version, log); err != nil {
		return err
	}
	return checkInstall(work, env, mods[app], version, log)
}

// readModules reads go.work and the go.mod of every module it uses, and
// checks that each is either published or test-only.
func readModules(root string) (map[string]*mod, error) {
	data, err := os.ReadFile(filepath.Join(root, "go.work"))
	if err != nil {
		return nil, err
	}
	wf, err := modfile.ParseWork("go.work", data, nil)
	if err != nil {
		return nil, err
	}
	mods := map[string]*mod{}
	for _, u := range wf.Use {
		dir := path.Clean(filepath.ToSlash(u.Path))
		if !slices.Contains(published, dir) && !slices.Contains(testOnly, dir) {
			return nil, fmt.Errorf("module %s: rule \"every module is published or test-only\": add it to one of the lists in internal/release/main.go and docs/RELEASING.md", dir)
		}
		gm := filepath.Join(root, dir, "go.mod")
		data, err := os.ReadFile(gm)
		if err != nil {
			return nil, err
		}
		f, err := modfile.Parse(gm, data, nil)
		if err != nil {
			return nil, err
		}
		mods[dir] = &mod{dir: dir, path: f.Module.Mod.Path, file: f}
	}
	for _, dir := range slices.Concat(published, testOnly) {
		if mods[dir] == nil {
			return nil, fmt.Errorf("module %s is listed in internal/release but not used in go.work", dir)
		}
	}
	return mods, nil
}

// releaseVersion returns the version at which the published modules
// require the root module; they must all agree.
func releaseVersion(mods map[string]*mod) (string, error) {
	version := ""
	for _, dir := range published {
		for _, r := range mods[dir].file.Require {
			if r.Mod.Path != modulePrefix {
				continue
			}
			if version != "" && r.Mod.Version != version {
				return "", fmt.Errorf("module %s: rule \"one release version\": requires %s@%s, others %s", mods[dir].path, modulePrefix, r.Mod.Version, version)
			}
			version = r.Mod.Version
		}
	}
	if !semver.IsValid(version) || semver.Prerelease(version) != "" {
		return "", fmt.Errorf("the published modules require the root at %q, which is not a release version", version)
	}
	return version, nil
}

// checkGoMod applies the rules for a published go.mod and its imports.
func checkGoMod(root string, m *mod, byPath map[string]*mod, version string) error {
	if len(m.file.Replace) > 0 {
		return fmt.Errorf("module %s: rule \"no replace in a published go.mod\": replaces %s (go.work resolves local modules)", m.path, m.file.Replace[0].Old.Path)
	}
	if m.file.Go == nil {
		return fmt.Errorf("module %s: rule \"a published go.mod states its Go minimum\": no go directive", m.path)
	}
	for _, r := range m.file.Require {
		if !strings.HasPrefix(r.Mod.Path, modulePrefix) {
			continue
		}
		dep := byPath[r.Mod.Path]
		if dep == nil || !slices.Contains(published, dep.dir) {
			return fmt.Errorf("module %s: rule \"published modules depend only on published modules\": requires %s", m.path, r.Mod.Path)
		}
		if r.Mod.Version != version {
			return fmt.Errorf("module %s: rule \"sessionkit modules require each other at the release version\": requires %s@%s, want %s", m.path, r.Mod.Path, r.Mod.Version, version)
		}
	}
	files, err := moduleFiles(root, m)
	if err != nil {
		return err
	}
	fset := token.NewFileSet()
	for _, rel := range files {
		if !strings.HasSuffix(rel, ".go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(root, m.dir, rel), nil, parser.ImportsOnly)
		if err != nil {
			return fmt.Errorf("module %s: %v", m.path, err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if !strings.HasPrefix(p, modulePrefix) {
				continue
			}
			owner := ownerOf(p, byPath)
			if owner != nil && owner != m && slices.Contains(strings.Split(strings.TrimPrefix(p, owner.path), "/"), "internal") {
				return fmt.Errorf("module %s: rule \"no internal package crosses a module boundary\": %s imports %s of module %s", m.path, rel, p, owner.path)
			}
			if owner != nil && !slices.Contains(published, owner.dir) {
				return fmt.Errorf("module %s: rule \"published modules depend only on published modules\": %s imports %s", m.path, rel, p)
			}
		}
	}
	return nil
}

// ownerOf returns the module that holds package p: the one with the longest
// path that prefixes it.
func ownerOf(p string, byPath map[string]*mod) *mod {
	var best *mod
	for mp, m := range byPath {
		if (p == mp || strings.HasPrefix(p, mp+"/")) && (best == nil || len(mp) > len(best.path)) {
			best = m
		}
	}
	return best
}

// moduleFiles lists the files git knows of (tracked, or untracked and not
// ignored) in module m's directory, without those of nested modules, as
// paths relative to the module directory.
func moduleFiles(root string, m *mod) ([]string, error) {
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", ".")
	cmd.Dir = filepath.Join(root, m.dir)
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("module %s: git ls-files: %v", m.path, err)
	}
	var files []string
	for _, f := range strings.Split(string(out), "\x00") {
		if f == "" {
			continue
		}
		if _, err := os.Lstat(filepath.Join(cmd.Dir, f)); err != nil {
			continue // deleted in the work tree
		}
		files = append(files, f)
	}
	// Drop the files of nested modules: a directory below m with a go.mod.
	var nested []string
	for _, f := range files {
		if d := path.Dir(f); path.Base(f) == "go.mod" && d != "." {
			nested = append(nested, d+"/")
		}
	}
	return slices.DeleteFunc(files, func(f string) bool {
		return slices.ContainsFunc(nested, func(n string) bool { return strings.HasPrefix(f, n) })
	}), nil
}

// file is a file of a module for golang.org/x/mod/zip.
type file struct{ rel, abs string }

func (f file) Path() string                 { return f.rel }
func (f file) Lstat() (os.FileInfo, error)  { return os.Lstat(f.abs) }
func (f file) Open() (io.ReadCloser, error) { return os.Open(f.abs) }

// addToProxy writes module m at version into the file-based proxy, after
// checking its files against the module zip rules.
func addToProxy(root, proxy string, m *mod, version string) error {
	rels, err := moduleFiles(root, m)
	if err != nil {
		return err
	}
	var files []zip.File
	for _, rel := range rels {
		files = append(files, file{rel: rel, abs: filepath.Join(root, m.dir, rel)})
	}
	checked, err := zip.CheckFiles(files)
	if err != nil {
		return err
	}
	if len(checked.Invalid) > 0 {
		var msgs []string
		for _, fe := range checked.Invalid {
			msgs = append(msgs, fmt.Sprintf("  %s: %v", fe.Path, fe.Err))
		}
		return fmt.Errorf("module %s: rule \"module zip file rules\" (golang.org/x/mod/zip):\n%s", m.path, strings.Join(msgs, "\n"))
	}
	escaped, err := module.EscapePath(m.path)
	if err != nil {
		return err
	}
	dir := filepath.Join(proxy, filepath.FromSlash(escaped), "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var buf bytes.Buffer
	mv := module.Version{Path: m.path, Version: version}
	if err := zip.Create(&buf, mv, files); err != nil {
		return fmt.Errorf("module %s: rule \"module zip file rules\": %v", m.path, err)
	}
	gomod, err := os.ReadFile(filepath.Join(root, m.dir, "go.mod"))
	if err != nil {
		return err
	}
	info, _ := json.Marshal(map[string]any{"Version": version, "Time": time.Now().UTC().Format(time.RFC3339)})
	for name, data := range map[string][]byte{
		version + ".zip":  buf.Bytes(),
		version + ".mod":  gomod,
		version + ".info": info,
		"list":            []byte(version + "\n"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// checkTidy runs go mod tidy -diff in dir (go mod tidy with fix), outside
// the workspace. The checksums of sessionkit's own modules are left out of
// the comparison and of the files: they are known only once a version is
// tagged, and the workspace does not need them (see docs/RELEASING.md).
func checkTidy(dir string, env []string, fix bool) error {
	if fix {
		if out, err := goCmd(dir, env, "mod", "tidy"); err != nil {
			return fmt.Errorf("go mod tidy: %v\n%s", err, out)
		}
		sum := filepath.Join(dir, "go.sum")
		data, err := os.ReadFile(sum)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // a module without dependencies outside sessionkit
		}
		if err != nil {
			return err
		}
		lines := strings.SplitAfter(string(data), "\n")
		lines = slices.DeleteFunc(lines, func(l string) bool {
			return strings.HasPrefix(l, modulePrefix+" ") || strings.HasPrefix(l, modulePrefix+"/")
		})
		return os.WriteFile(sum, []byte(strings.Join(lines, "")), 0o644)
	}
	out, err := goCmd(dir, env, "mod", "tidy", "-diff")
	if err == nil {
		return nil
	}
	var changes []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "+++") || strings.HasPrefix(l, "---") || !(strings.HasPrefix(l, "+") || strings.HasPrefix(l, "-")) {
			continue
		}
		if rest := l[1:]; !strings.HasPrefix(rest, modulePrefix+" ") && !strings.HasPrefix(rest, modulePrefix+"/") {
			changes = append(changes, l)
		}
	}
	if len(changes) == 0 && strings.Contains(string(out), "diff current/") {
		return nil // only our own checksums differ
	}
	return fmt.Errorf("go mod tidy -diff: %v\n%s", err, out)
}

// libraries returns the published modules other than the app.
func libraries(mods map[string]*mod) []*mod {
	var out []*mod
	for _, dir := range published {
		if dir != app {
			out = append(out, mods[dir])
		}
	}
	return out
}

// checkUserModule builds the README's quick start and every library package
// in a fresh module that fetches sessionkit from the proxy.
func checkUserModule(root, work string, env []string, mods map[string]*mod, version string, log func(string, ...any)) error {
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		return err
	}
	_, rest, ok := bytes.Cut(readme, []byte(quickstartMarker))
	block, _, closed := bytes.Cut(rest, []byte("```\n"))
	if !ok || !closed {
		return errors.New("README.md: no quick start block after " + strings.TrimSpace(quickstartMarker))
	}
	dir := filepath.Join(work, "user")
	var imports []string
	for _, m := range libraries(mods) {
		pkgs, err := libraryPackages(root, m)
		if err != nil {
			return err
		}
		imports = append(imports, pkgs...)
	}
	var stores bytes.Buffer
	stores.WriteString("package main\n\n// Every package of every published library, so that all of them build.\nimport (\n")
	for _, p := range imports {
		fmt.Fprintf(&stores, "\t_ %q\n", p)
	}
	stores.WriteString(")\n")
	if err := writeFiles(dir, map[string][]byte{
		"go.mod":      []byte("module example.com/user\n\ngo 1.26.0\n"),
		"main.go":     block,
		"packages.go": stores.Bytes(),
	}); err != nil {
		return err
	}
	for _, m := range libraries(mods) {
		if out, err := goCmd(dir, env, "get", m.path+"@"+version); err != nil {
			return fmt.Errorf("module %s: rule \"a user module can go get it from a proxy\": %v\n%s", m.path, err, out)
		}
	}
	env = withModMod(env)
	for _, args := range [][]string{{"build", "./..."}, {"vet", "./..."}} {
		if out, err := goCmd(dir, env, args...); err != nil {
			return fmt.Errorf("user module: rule \"the README quick start and every library package build and vet from the proxy\": go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	log("user module: go get of %d libraries, README quick start and %d packages build and vet", len(libraries(mods)), len(imports))
	return nil
}

// libraryPackages lists the importable packages of library module m: not
// commands, not internal, not examples.
func libraryPackages(root string, m *mod) ([]string, error) {
	cmd := exec.Command("go", "list", "-f", "{{if ne .Name \"main\"}}{{.ImportPath}}{{end}}", "./...")
	cmd.Dir = filepath.Join(root, m.dir)
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("module %s: go list: %v", m.path, err)
	}
	var pkgs []string
	for _, p := range strings.Fields(string(out)) {
		if !strings.Contains(p, "/internal/") && !strings.HasSuffix(p, "/internal") {
			pkgs = append(pkgs, p)
		}
	}
	return pkgs, nil
}

// checkOldestGo builds and vets, with exactly the Go release they claim,
// the library modules whose go directive is older than the toolchain.
func checkOldestGo(work string, env []string, mods map[string]*mod, version string, log func(string, ...any)) error {
	byGo := map[string][]*mod{}
	for _, m := range libraries(mods) {
		v := m.file.Go.Version
		if strings.Count(v, ".") == 1 {
			v += ".0"
		}
		byGo[v] = append(byGo[v], m)
	}
	current := strings.TrimPrefix(goVersion(), "go")
	for v, ms := range byGo {
		if v == current || semver.Compare("v"+v, "v"+current) >= 0 {
			continue
		}
		dir := filepath.Join(work, "go"+v)
		if err := writeFiles(dir, map[string][]byte{"go.mod": []byte("module example.com/old\n\ngo " + v + "\n")}); err != nil {
			return err
		}
		oldEnv := append(withModMod(env), "GOTOOLCHAIN=go"+v)
		var patterns, names []string
		for _, m := range ms {
			if out, err := goCmd(dir, oldEnv, "get", m.path+"@"+version); err != nil {
				return fmt.Errorf("module %s: rule \"builds with the Go it claims (go %s)\": go get: %v\n%s", m.path, v, err, out)
			}
			patterns = append(patterns, m.path+"/...")
			names = append(names, m.path)
		}
		for _, args := range [][]string{{"build"}, {"vet"}} {
			args = append(args, patterns...)
			if out, err := goCmd(dir, oldEnv, args...); err != nil {
				return fmt.Errorf("modules %s: rule \"builds with the Go it claims (go %s)\": go %s: %v\n%s", strings.Join(names, ", "), v, args[0], err, out)
			}
		}
		log("go%s builds and vets %s", v, strings.Join(names, ", "))
	}
	return nil
}

// checkInstall go-installs the commands from the proxy, starts authserver
// and asks /healthz, then runs sessionctl stats on the app's session store.
func checkInstall(work string, env []string, m *mod, version string, log func(string, ...any)) error {
	bin := filepath.Join(work, "bin")
	installEnv := append(slices.Clip(env), "GOBIN="+bin)
	for _, c := range commands {
		if out, err := goCmd(work, installEnv, "install", m.path+"/"+c+"@"+version); err != nil {
			return fmt.Errorf("module %s: rule \"go install works from a proxy\": %s: %v\n%s", m.path, c, err, out)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	data := filepath.Join(work, "data")
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "authserver"), "-addr", addr, "-data", data)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				log("go install %s/authserver@%s: the installed app answers /healthz", m.path, version)
				break
			}
			err = fmt.Errorf("status %d", res.StatusCode)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("module %s: rule \"the installed app starts and answers /healthz\": %v\n%s", m.path, err, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	stats := exec.Command(filepath.Join(bin, "sessionctl"), "stats", "--json", "--store", "sqlite:"+filepath.Join(data, "sessions.db"))
	if b, err := stats.CombinedOutput(); err != nil || !bytes.Contains(b, []byte(`"store":"sqlite"`)) {
		return fmt.Errorf("module %s: rule \"the installed sessionctl reads the app's store\": %v\n%s", m.path, err, b)
	}
	log("go install %s/sessionctl@%s: sessionctl stats reads the app's session store", m.path, version)
	return nil
}

// withModMod returns env with GOFLAGS that let go build and go vet record
// the checksums of the dependencies they load, as a new user's first build
// does.
func withModMod(env []string) []string {
	out := slices.Clone(env)
	for i, kv := range out {
		if strings.HasPrefix(kv, "GOFLAGS=") {
			out[i] = kv + " -mod=mod"
			return out
		}
	}
	return append(out, "GOFLAGS=-mod=mod")
}

func writeFiles(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// goCmd runs the go command in dir with extra environment variables.
func goCmd(dir string, env []string, args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	return cmd.CombinedOutput()
}

func goEnv(name string) (string, error) {
	out, err := exec.Command("go", "env", name).Output()
	return strings.TrimSpace(string(out)), err
}

func goVersion() string {
	v, _ := goEnv("GOVERSION")
	return v
}

// realProxy returns the proxy the go command would use for everything that
// is not ours.
func realProxy() string {
	p, _ := goEnv("GOPROXY")
	if p == "" || p == "off" {
		return "https://proxy.golang.org,direct"
	}
	return p
}

func fileURL(dir string) string {
	return "file://" + filepath.ToSlash(dir)
}
