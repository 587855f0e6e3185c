// Package ci holds the CI pipelines a team can copy (GitHub Actions, Argo
// Workflows). Its test checks that they parse and that every regionctl
// command line in them — and in docs/ci.md — names subcommands and flags
// that exist, so the examples cannot drift from the CLI.
package ci

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/regionctl/regionctl/cli"
	"github.com/regionctl/regionctl/state/backendconfig"
)

// command is one regionctl invocation found in a file.
type command struct {
	where string // file:line
	args  []string
}

func (c command) String() string { return c.where + ": regionctl " + strings.Join(c.args, " ") }

// checkCommand parses args against the real command tree: the subcommand
// path must exist and be runnable, every flag must exist on it and take
// the value given, and the positional arguments must satisfy it.
func checkCommand(args []string) error {
	root := cli.CommandTree()
	cmd, rest, err := root.Find(args)
	if err != nil {
		return err
	}
	// A command that groups subcommands (state, state lock, sandbox) runs
	// only to refuse what it was given.
	if !cmd.Runnable() || cmd.HasSubCommands() {
		return fmt.Errorf("%q needs a subcommand (one of %s)", cmd.CommandPath(), strings.Join(subcommands(cmd), ", "))
	}
	if err := cmd.ParseFlags(rest); err != nil {
		return fmt.Errorf("%s: %w", cmd.CommandPath(), err)
	}
	if err := cmd.ValidateArgs(cmd.Flags().Args()); err != nil {
		return fmt.Errorf("%s: %w", cmd.CommandPath(), err)
	}
	return nil
}

func subcommands(cmd *cobra.Command) []string {
	var out []string
	for _, c := range cmd.Commands() {
		out = append(out, c.Name())
	}
	return out
}

// Expressions the CI system substitutes before the shell or the container
// sees the line: GitHub's ${{ ... }} and Argo's {{ ... }}.
var ciExpr = regexp.MustCompile(`\$?\{\{[^}]*\}\}`)

var (
	assignment = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)
	digits     = regexp.MustCompile(`^[0-9]+$`)
)

// shellCommands finds the regionctl commands in a shell script: every
// simple command (split at | || && ; & ( ) and newlines) whose first word
// after variable assignments is regionctl; its arguments end at the first
// redirection. Comments and line continuations are understood, quotes are
// removed; expansions are left as words.
func shellCommands(where func(line int) string, script string) []command {
	script = ciExpr.ReplaceAllString(script, "EXPR")
	var out []command
	var words []string
	var word strings.Builder
	inWord, redirected := false, false
	startLine, line := 1, 1
	endWord := func() {
		if inWord && !redirected {
			words = append(words, word.String())
		}
		word.Reset()
		inWord = false
	}
	endCommand := func() {
		endWord()
		i := 0
		for i < len(words) && assignment.MatchString(words[i]) {
			i++
		}
		if i < len(words) && words[i] == "regionctl" {
			out = append(out, command{where: where(startLine), args: words[i+1:]})
		}
		words, redirected = nil, false
		startLine = line
	}
	rs := []rune(script)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '\\' && i+1 < len(rs) && rs[i+1] == '\n':
			i++
			line++
		case r == '\\' && i+1 < len(rs):
			word.WriteRune(rs[i+1])
			inWord = true
			i++
		case r == '\'' || r == '"':
			inWord = true
			for i++; i < len(rs) && rs[i] != r; i++ {
				if rs[i] == '\n' {
					line++
				}
				word.WriteRune(rs[i])
			}
		case r == '#' && !inWord:
			for i < len(rs) && rs[i] != '\n' {
				i++
			}
			i--
		case r == '\n':
			line++
			endCommand()
		case r == ' ' || r == '\t':
			endWord()
		case strings.ContainsRune("|&;()", r):
			endCommand()
		case r == '<' || r == '>':
			// A redirection: "2>" and "&>" lose their digit or ampersand
			// here, which is harmless: the arguments end anyway.
			if inWord && digits.MatchString(word.String()) {
				word.Reset()
				inWord = false
			}
			endWord()
			redirected = true
		default:
			word.WriteRune(r)
			inWord = true
		}
	}
	endCommand()
	return out
}

// yamlCommands walks a YAML document for regionctl commands: in shell
// scripts (GitHub's run:, Argo's script source:, a container running
// sh -c) and in containers whose command is regionctl (args: a list).
func yamlCommands(file string, n *yaml.Node) []command {
	var out []command
	at := func(base int) func(int) string {
		return func(l int) string { return fmt.Sprintf("%s:%d", file, base+l) }
	}
	// A block scalar's text starts on the line after its key.
	scriptAt := func(v *yaml.Node) func(int) string {
		if v.Style == yaml.LiteralStyle || v.Style == yaml.FoldedStyle {
			return at(v.Line)
		}
		return at(v.Line - 1)
	}
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			var cmd, args *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i].Value, n.Content[i+1]
				switch {
				case (k == "run" || k == "source") && v.Kind == yaml.ScalarNode:
					out = append(out, shellCommands(scriptAt(v), v.Value)...)
				case k == "command" && v.Kind == yaml.SequenceNode:
					cmd = v
				case k == "args" && v.Kind == yaml.SequenceNode:
					args = v
				}
			}
			if cmd != nil {
				out = append(out, containerCommands(file, cmd, args, scriptAt)...)
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	return out
}

// containerCommands reads a container's command and args: regionctl run
// directly, or a shell given a script with -c.
func containerCommands(file string, cmd, args *yaml.Node, scriptAt func(*yaml.Node) func(int) string) []command {
	var words []*yaml.Node
	words = append(words, cmd.Content...)
	if args != nil {
		words = append(words, args.Content...)
	}
	if len(words) == 0 {
		return nil
	}
	switch path.Base(words[0].Value) {
	case "regionctl":
		c := command{where: fmt.Sprintf("%s:%d", file, words[0].Line)}
		for _, w := range words[1:] {
			c.args = append(c.args, ciExpr.ReplaceAllString(w.Value, "EXPR"))
		}
		return []command{c}
	case "sh", "bash":
		if len(words) >= 3 && words[1].Value == "-c" {
			return shellCommands(scriptAt(words[2]), words[2].Value)
		}
	}
	return nil
}

// markdownCommands finds regionctl commands in the shell code blocks of a
// Markdown file (```sh, ```bash, ```shell, ```console; a console line's
// "$ " prompt is dropped).
func markdownCommands(file, md string) []command {
	var out []command
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		lang, ok := strings.CutPrefix(lines[i], "```")
		if !ok {
			continue
		}
		start := i + 1
		var block []string
		for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
			block = append(block, lines[i])
		}
		switch strings.TrimSpace(lang) {
		case "sh", "bash", "shell":
		case "console":
			for j, l := range block {
				if cmd, ok := strings.CutPrefix(l, "$ "); ok {
					block[j] = cmd
				} else {
					block[j] = "" // output, not a command
				}
			}
		default:
			continue
		}
		out = append(out, shellCommands(func(l int) string { return fmt.Sprintf("%s:%d", file, start+l) }, strings.Join(block, "\n"))...)
	}
	return out
}

func loadYAML(t *testing.T, file string) (*yaml.Node, map[string]any) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var n yaml.Node
	if err := yaml.Unmarshal(b, &n); err != nil {
		t.Fatalf("%s does not parse: %v", file, err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s does not parse as a mapping: %v", file, err)
	}
	return &n, m
}

// TestExamplesUseRealCommands: every regionctl command line in the
// examples and in docs/ci.md parses against the real command tree.
func TestExamplesUseRealCommands(t *testing.T) {
	for _, tt := range []struct {
		file string
		// want are subcommand paths that must be among the commands found,
		// so a parser that finds nothing cannot pass.
		want []string
	}{
		{"github-actions.yml", []string{"validate", "plan", "show", "apply", "state lock list"}},
		{"argo-workflow.yaml", []string{"plan", "show", "apply", "state lock list"}},
		{"../../docs/ci.md", []string{"plan", "apply", "state lock list", "state unlock"}},
	} {
		t.Run(path.Base(tt.file), func(t *testing.T) {
			var cmds []command
			if strings.HasSuffix(tt.file, ".md") {
				b, err := os.ReadFile(tt.file)
				if err != nil {
					t.Fatal(err)
				}
				cmds = markdownCommands(tt.file, string(b))
			} else {
				n, _ := loadYAML(t, tt.file)
				cmds = yamlCommands(tt.file, n)
			}
			seen := map[string]bool{}
			for _, c := range cmds {
				t.Log(c)
				if err := checkCommand(c.args); err != nil {
					t.Errorf("%s\n    %v", c, err)
					continue
				}
				if cmd, _, err := cli.CommandTree().Find(c.args); err == nil {
					seen[strings.TrimPrefix(cmd.CommandPath(), "regionctl ")] = true
				}
			}
			for _, w := range tt.want {
				if !seen[w] {
					t.Errorf("no `regionctl %s` found in %s (found %d commands)", w, tt.file, len(cmds))
				}
			}
		})
	}
}

// TestCheckerCatchesMistakes: the checks above fail on what they exist to
// catch.
func TestCheckerCatchesMistakes(t *testing.T) {
	const bad = `
jobs:
  plan:
    steps:
      - run: |
          regionctl plan -f . --no-such-flag
          FOO=1 regionctl aply plan.out
          echo ok && regionctl state lok list
          regionctl plan -f . \
            --format yaml > plan.md
          regionctl state
          regionctl plan --lock-timeout EXPR
          # regionctl commented --out
templates:
  - container:
      command: [regionctl]
      args: [apply, a.plan, b.plan]
  - container:
      command: [sh, -c]
      args: ["regionctl show --bogus"]
`
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(bad), &n); err != nil {
		t.Fatal(err)
	}
	cmds := yamlCommands("bad.yml", &n)
	wantErr := []string{
		"unknown flag: --no-such-flag",
		`unknown command "aply"`,
		"needs a subcommand",
		`"yaml" is not a format`,
		"needs a subcommand",
		"invalid argument",
		"accepts at most 1 arg",
		"unknown flag: --bogus",
	}
	if len(cmds) != len(wantErr) {
		t.Fatalf("found %d commands, want %d: %v", len(cmds), len(wantErr), cmds)
	}
	for i, c := range cmds {
		err := checkCommand(c.args)
		if err == nil || !strings.Contains(err.Error(), wantErr[i]) {
			t.Errorf("%s: error %v; want one containing %q", c, err, wantErr[i])
		}
	}
	if cmds[3].where != "bad.yml:9" {
		t.Errorf("continued command reported at %s; want bad.yml:9", cmds[3].where)
	}
	good := shellCommands(func(int) string { return "" }, `X=1 regionctl plan -f "my specs/" --out=p.plan 2>&1 | tee log; regionctl apply 'p.plan'`)
	for _, c := range good {
		if err := checkCommand(c.args); err != nil {
			t.Errorf("%s: %v", c, err)
		}
	}
	if len(good) != 2 || good[0].args[2] != "my specs/" || good[1].args[1] != "p.plan" {
		t.Errorf("quotes and operators misread: %v", good)
	}
}

// get walks a decoded YAML value by keys and list indexes.
func get(v any, keys ...any) any {
	for _, k := range keys {
		switch t := v.(type) {
		case map[string]any:
			s, _ := k.(string)
			v = t[s]
		case []any:
			i, ok := k.(int)
			if !ok || i >= len(t) {
				return nil
			}
			v = t[i]
		default:
			return nil
		}
	}
	return v
}

func TestGitHubWorkflowShape(t *testing.T) {
	node, wf := loadYAML(t, "github-actions.yml")
	if got := get(wf, "permissions", "id-token"); got != "write" {
		t.Errorf("permissions.id-token = %v; want write (OIDC)", got)
	}
	for _, ev := range []string{"pull_request", "push"} {
		if _, ok := get(wf, "on").(map[string]any)[ev]; !ok {
			t.Errorf("the workflow does not run on %s", ev)
		}
	}
	// A GitHub concurrency group keeps one pending run and cancels the one
	// queued before it: an apply must never be dropped that way, so applies
	// queue on regionctl's locks instead (docs/ci.md).
	if c := get(wf, "jobs", "apply", "concurrency"); c != nil {
		t.Errorf("the apply job has a concurrency group (%v): a queued apply would be cancelled by the next one", c)
	}
	// Every pull request commit is planned, so the merged pull request's
	// last commit has a plan artifact even when it touched no spec.
	if pr := get(wf, "on", "pull_request"); pr != nil && get(pr, "paths") != nil {
		t.Errorf("pull_request runs only for some paths (%v): a last commit outside them leaves the merge without a plan", get(pr, "paths"))
	}
	var planLine, applyLine string
	for _, c := range yamlCommands("github-actions.yml", node) {
		switch {
		case len(c.args) > 0 && c.args[0] == "plan" && slices.Contains(c.args, "--detailed-exitcode"):
			planLine = strings.Join(c.args, " ")
		case len(c.args) > 1 && c.args[0] == "apply" && c.args[1] == "regionctl.plan":
			applyLine = strings.Join(c.args, " ")
		}
	}
	if !strings.Contains(planLine, "--lock=false") {
		t.Errorf("the pull-request plan %q waits for locks: a long apply would fail it", planLine)
	}
	if !regexp.MustCompile(`--lock-timeout [1-9][0-9]+m`).MatchString(applyLine) {
		t.Errorf("the merge apply %q does not wait long enough for the apply before it", applyLine)
	}
	// Each cloud login is OIDC, with the inputs that make it so.
	wantWith := map[string][]string{
		"aws-actions/configure-aws-credentials": {"role-to-assume"},
		"google-github-actions/auth":            {"workload_identity_provider"},
		"azure/login":                           {"client-id", "tenant-id", "subscription-id"},
		"actions/upload-artifact":               {"name", "path"},
		"actions/download-artifact":             {"name", "run-id"},
	}
	found := map[string]int{}
	jobs, _ := get(wf, "jobs").(map[string]any)
	for name, job := range jobs {
		steps, _ := get(job, "steps").([]any)
		for _, s := range steps {
			uses, _ := get(s, "uses").(string)
			action, _, _ := strings.Cut(uses, "@")
			keys, ok := wantWith[action]
			if !ok {
				continue
			}
			found[action]++
			for _, k := range keys {
				if get(s, "with", k) == nil {
					t.Errorf("job %s: %s without with.%s", name, action, k)
				}
			}
			for _, secret := range []string{"aws-secret-access-key", "credentials_json", "creds", "client-secret"} {
				if get(s, "with", secret) != nil {
					t.Errorf("job %s: %s uses a stored secret (%s) instead of OIDC", name, action, secret)
				}
			}
		}
	}
	for action := range wantWith {
		if found[action] == 0 {
			t.Errorf("no step uses %s", action)
		}
	}
}

func TestArgoTemplateShape(t *testing.T) {
	_, wt := loadYAML(t, "argo-workflow.yaml")
	if get(wt, "kind") != "WorkflowTemplate" || get(wt, "apiVersion") != "argoproj.io/v1alpha1" {
		t.Fatalf("not an Argo WorkflowTemplate: %v %v", get(wt, "apiVersion"), get(wt, "kind"))
	}
	templates := map[string]any{}
	list, _ := get(wt, "spec", "templates").([]any)
	for _, tpl := range list {
		name, _ := get(tpl, "name").(string)
		templates[name] = tpl
	}
	entry, _ := get(wt, "spec", "entrypoint").(string)
	steps, _ := get(templates[entry], "steps").([]any)
	var order []string
	for _, group := range steps {
		for _, s := range group.([]any) {
			name, _ := get(s, "template").(string)
			if _, ok := templates[name]; !ok {
				t.Errorf("step uses template %q, which does not exist", name)
			}
			order = append(order, name)
			if name == "apply" {
				from, _ := get(s, "arguments", "artifacts", 0, "from").(string)
				if !strings.Contains(from, "steps.plan.outputs.artifacts.plan") {
					t.Errorf("apply does not take the plan artifact of step plan: %q", from)
				}
			}
		}
	}
	if strings.Join(order, ",") != "plan,approve,apply" {
		t.Errorf("steps %v; want plan, approve, apply", order)
	}
	if _, ok := get(templates["approve"], "suspend").(map[string]any); !ok {
		t.Errorf("the approve template does not suspend")
	}
	if get(templates["plan"], "outputs", "artifacts", 0, "name") != "plan" {
		t.Errorf("the plan template does not output the plan as an artifact")
	}
	if get(templates["apply"], "synchronization", "mutexes", 0, "name") == nil {
		t.Errorf("apply has no mutex: two applies could overlap")
	}
}

// TestDocsBackendBlockDecodes checks the backend block shown in docs/ci.md is
// one regionctl actually accepts, so the guide cannot drift from the decoder.
func TestDocsBackendBlockDecodes(t *testing.T) {
	doc, err := os.ReadFile("../../docs/ci.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	start := strings.Index(text, "```yaml\n# regions/regionctl.yaml\n")
	if start < 0 {
		t.Fatal("docs/ci.md no longer shows a regionctl.yaml backend block")
	}
	block := text[start+len("```yaml\n"):]
	block = block[:strings.Index(block, "```")]
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "regionctl.yaml"), []byte(block), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := backendconfig.Resolve(backendconfig.Options{Dir: dir, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatalf("the backend block in docs/ci.md is refused: %v\n%s", err, block)
	}
	if cfg.Type != "s3" || cfg.Get("kmsKeyId") == "" {
		t.Fatalf("decoded %+v, want the s3 block with its KMS key", cfg)
	}
}
