package lineage

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Secret is a credential. It prints as *** in every fmt verb, JSON and
// text encoding; Reveal gives the value to the code that sends it.
type Secret string

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "***"
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// Format applies to every verb, so even %x or %d cannot leak the value.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		_, _ = io.WriteString(f, strconv.Quote(s.String()))
		return
	}
	_, _ = io.WriteString(f, s.String())
}

// MarshalText writes *** so that encoders never see the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Transport types. "noop" in a configuration means TypeNone, "async_http"
// means TypeHTTP (salesdag's HTTP delivery is asynchronous anyway).
const (
	TypeConsole   = "console"
	TypeHTTP      = "http"
	TypeFile      = "file"
	TypeComposite = "composite"
	TypeNone      = "none"
)

// DefaultNamespace is the job namespace when none is configured.
const DefaultNamespace = "default"

// DefaultEventsFile is where "--lineage file" writes without a location.
const DefaultEventsFile = ".salesdag/lineage/events.jsonl"

// Environment variables read by LoadConfig.
const (
	EnvConfig    = "OPENLINEAGE_CONFIG"
	EnvURL       = "OPENLINEAGE_URL"
	EnvEndpoint  = "OPENLINEAGE_ENDPOINT"
	EnvAPIKey    = "OPENLINEAGE_API_KEY"
	EnvDisabled  = "OPENLINEAGE_DISABLED"
	EnvNamespace = "OPENLINEAGE_NAMESPACE"
	envPrefix    = "OPENLINEAGE__"
)

// defaultHTTPName is the composite member OPENLINEAGE_URL turns into, as
// the Python client names it.
const defaultHTTPName = "default_http"

// TransportConfig is one transport's settings, with the fields of every
// type; Type says which apply.
type TransportConfig struct {
	Type     string
	Name     string // member name inside a composite
	Priority int    // order of a composite with SortTransports (highest first)

	// http
	URL                string
	Endpoint           string
	APIKey             Secret
	Timeout            time.Duration
	Compression        string
	CustomHeaders      map[string]string
	InsecureSkipVerify bool

	// file
	LogFilePath string
	Append      bool // false: one file per event, LogFilePath-<time>.json

	// composite
	Transports     []TransportConfig
	StopOnFailure  bool // continue_on_failure: false
	StopOnSuccess  bool // continue_on_success: false
	SortTransports bool

	// Unusable says why salesdag cannot deliver through this transport (a
	// type or an auth it does not ship, a missing setting). Such a
	// transport refuses every event, so the events wait in the outbox.
	Unusable string
}

// Config is the resolved lineage configuration.
type Config struct {
	Disabled  bool // OPENLINEAGE_DISABLED or --lineage none
	Namespace string
	Transport TransportConfig
	// Events are the filters, tags and facets applied to sent events.
	Events EventOptions
	// Source says where the transport settings came from, for messages.
	Source string
	// Warnings are problems that did not stop loading; each is said once.
	Warnings []string
}

// Overrides are the explicit settings a CLI takes from its flags; set
// fields win over every other source.
type Overrides struct {
	Transport   string // console, http, file or none
	URL         string // implies http when Transport is empty
	Endpoint    string
	APIKey      string
	File        string // implies file when Transport is empty
	Namespace   string
	Timeout     time.Duration // HTTP request timeout
	Compression string
}

// LoadOptions are the inputs of LoadConfig; zero fields mean the process's
// own environment, working directory and home.
type LoadOptions struct {
	Overrides Overrides
	Getenv    func(string) string
	Environ   func() []string
	WorkDir   string
	HomeDir   string
}

// LoadConfig resolves the configuration as the OpenLineage Python client
// does: openlineage.yml (found through $OPENLINEAGE_CONFIG,
// ./openlineage.yml, ~/.openlineage/openlineage.yml) merged over the
// OPENLINEAGE__* variables (the file wins where both set a key); without a
// transport type there, OPENLINEAGE_URL (+ OPENLINEAGE_ENDPOINT,
// OPENLINEAGE_API_KEY); otherwise console. OPENLINEAGE_DISABLED=true turns
// lineage off; the Overrides win over all of it.
//
// A configuration never stops a run: problems become Warnings, and a
// transport salesdag cannot use is marked Unusable and keeps its events in
// the outbox (the delivery report says why, once). Only contradictory flags
// are errors. Nothing returned contains the API key.
func LoadConfig(opts LoadOptions) (Config, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	environ := opts.Environ
	if environ == nil {
		environ = os.Environ
	}
	cfg, err := loadConfig(opts, getenv, environ)
	secrets := []string{getenv(EnvAPIKey), opts.Overrides.APIKey}
	secrets = append(secrets, cfg.Transport.secrets()...)
	for i, w := range cfg.Warnings {
		cfg.Warnings[i] = redactAll(w, secrets)
	}
	if err != nil {
		return Config{}, errors.New(redactAll(err.Error(), secrets))
	}
	return cfg, nil
}

func loadConfig(opts LoadOptions, getenv func(string) string, environ func() []string) (Config, error) {
	cfg := Config{
		Namespace: cmp.Or(opts.Overrides.Namespace, strings.TrimSpace(getenv(EnvNamespace)), DefaultNamespace),
		Disabled:  truthy(getenv(EnvDisabled)),
	}
	warn := func(format string, args ...any) {
		cfg.Warnings = append(cfg.Warnings, "lineage config: "+fmt.Sprintf(format, args...))
	}

	file := findConfigFile(opts, getenv, warn)
	fileRoot := readConfigFile(file, warn)
	envRoot := envTree(environ(), getenv, warn)
	normalize(fileRoot, "", "root", nil)
	normalize(envRoot, "", "root", nil)
	root := deepMerge(envRoot, fileRoot)
	normalize(root, "", "root", func(msg string) { warn("%s", msg) })

	var sources []string
	if t := mapGet(fileRoot, "transport"); t != nil {
		sources = append(sources, "openlineage.yml ("+file+")")
	}
	if t := mapGet(envRoot, "transport"); t != nil && !onlyAlias(t) {
		sources = append(sources, "OPENLINEAGE__* variables")
	}
	tn := mapGet(root, "transport")
	if tn != nil && tn.Kind == yaml.MappingNode && scalar(mapGet(tn, "type")) == "" && !onlyAlias(tn) {
		warn("transport has no type (console, http, file, composite or noop); ignored")
	}
	switch {
	case tn != nil && (tn.Kind != yaml.MappingNode || scalar(mapGet(tn, "type")) != ""):
		cfg.Transport = decodeTransport(tn, "transport", warn)
		cfg.Source = strings.Join(sources, " and ")
	case strings.TrimSpace(getenv(EnvURL)) != "":
		cfg.Transport = finish(legacyHTTP(getenv), "transport")
		cfg.Source = EnvURL
	case file != "" && fileRoot == nil:
		// The file is there but unreadable: what it meant to configure is
		// unknown, so keep the events rather than print or drop them.
		cfg.Transport = TransportConfig{Unusable: "the configuration file " + file + " could not be used"}
		cfg.Source = file
	default:
		cfg.Transport = TransportConfig{Type: TypeConsole}
		cfg.Source = "default"
	}
	cfg.Events = decodeEvents(root, getenv, warn)
	if err := applyOverrides(&cfg, opts.Overrides, getenv); err != nil {
		return cfg, err
	}
	if cfg.Disabled {
		cfg.Transport = TransportConfig{Type: TypeNone}
	}
	return cfg, nil
}

func legacyHTTP(getenv func(string) string) TransportConfig {
	return TransportConfig{
		Type:     TypeHTTP,
		URL:      strings.TrimSpace(getenv(EnvURL)),
		Endpoint: strings.TrimSpace(getenv(EnvEndpoint)),
		APIKey:   Secret(strings.TrimSpace(getenv(EnvAPIKey))),
	}
}

func applyOverrides(cfg *Config, ov Overrides, getenv func(string) string) error {
	typ := strings.ToLower(strings.TrimSpace(ov.Transport))
	if typ == "" {
		switch {
		case ov.URL != "":
			typ = TypeHTTP
		case ov.File != "":
			typ = TypeFile
		}
	}
	if typ == "" && ov.Endpoint == "" && ov.APIKey == "" && ov.Timeout == 0 && ov.Compression == "" {
		return nil
	}
	if typ != "" {
		cfg.Disabled = false // an explicit choice beats OPENLINEAGE_DISABLED
		if typ != cfg.Transport.Type || cfg.Transport.Unusable != "" {
			switch typ {
			case TypeHTTP:
				// Switching to HTTP by flag: take what the legacy variables
				// say, then the flags.
				cfg.Transport = legacyHTTP(getenv)
			case TypeConsole, TypeNone:
				cfg.Transport = TransportConfig{Type: typ}
			case TypeFile:
				cfg.Transport = TransportConfig{Type: typ, LogFilePath: DefaultEventsFile, Append: true}
			default:
				return fmt.Errorf("lineage: transport %q given by flag is not one of console, http, file, none", ov.Transport)
			}
		}
		cfg.Source = "flags"
	}
	t := &cfg.Transport
	switch t.Type {
	case TypeHTTP:
		t.URL = cmp.Or(ov.URL, t.URL)
		t.Endpoint = cmp.Or(ov.Endpoint, t.Endpoint)
		t.APIKey = Secret(cmp.Or(ov.APIKey, t.APIKey.Reveal()))
		t.Compression = cmp.Or(ov.Compression, t.Compression)
		if ov.Timeout > 0 {
			t.Timeout = ov.Timeout
		}
	case TypeFile:
		if ov.File != "" {
			t.LogFilePath, t.Append = ov.File, true
		}
	}
	if typ == "" && t.Unusable != "" {
		return nil // refining a transport that cannot be used changes nothing
	}
	t.Unusable = ""
	*t = finish(*t, "transport")
	if t.Unusable != "" {
		return fmt.Errorf("lineage: %s", t.Unusable)
	}
	return nil
}

// ---- finding and reading the sources ----

func findConfigFile(opts LoadOptions, getenv func(string) string, warn func(string, ...any)) string {
	wd := opts.WorkDir
	if wd == "" {
		wd, _ = os.Getwd()
	}
	home := opts.HomeDir
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	if p := strings.TrimSpace(getenv(EnvConfig)); p != "" {
		if st, err := os.Stat(p); err != nil || st.IsDir() {
			warn("%s=%s is not a readable file; looking for openlineage.yml in the working directory and ~/.openlineage instead", EnvConfig, p)
		} else {
			return p
		}
	}
	var candidates []string
	if wd != "" {
		candidates = append(candidates, filepath.Join(wd, "openlineage.yml"))
	}
	if home != "" {
		candidates = append(candidates, filepath.Join(home, ".openlineage", "openlineage.yml"))
	}
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return c
		}
	}
	return ""
}

// readConfigFile returns the file's top mapping: an empty one for an
// empty file, nil (after a warning) when it cannot be used.
func readConfigFile(path string, warn func(string, ...any)) *yaml.Node {
	if path == "" {
		return &yaml.Node{Kind: yaml.MappingNode}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		warn("read %s: %v", path, err)
		return nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		// yaml's messages give line numbers, not values.
		warn("%s is not valid YAML: %v", path, err)
		return nil
	}
	if len(doc.Content) == 0 || doc.Content[0].Tag == "!!null" {
		return &yaml.Node{Kind: yaml.MappingNode}
	}
	if doc.Content[0].Kind != yaml.MappingNode {
		warn("%s must be a mapping with keys like transport:, facets:, filters:, tags:", path)
		return nil
	}
	return doc.Content[0]
}

// envTree turns OPENLINEAGE__A__B=v variables into {a: {b: v}} the way the
// Python client does: keys lower-cased, values parsed as JSON when they
// are JSON (else strings), variables applied in reverse sorted order so
// that OPENLINEAGE__TRANSPORT='{...}' replaces OPENLINEAGE__TRANSPORT__*.
// OPENLINEAGE_URL is aliased to a composite member named default_http.
func envTree(environ []string, getenv func(string) string, warn func(string, ...any)) *yaml.Node {
	vars := map[string]string{}
	aliased := false
	for _, e := range environ {
		k, v, ok := strings.Cut(e, "=")
		if ok && strings.HasPrefix(k, envPrefix) && len(k) > len(envPrefix) {
			vars[k] = v
			aliased = aliased || strings.HasPrefix(k, envPrefix+"TRANSPORT__TRANSPORTS__DEFAULT_HTTP")
		}
	}
	if url := strings.TrimSpace(getenv(EnvURL)); url != "" && !aliased {
		m := envPrefix + "TRANSPORT__TRANSPORTS__DEFAULT_HTTP__"
		vars[m+"TYPE"], vars[m+"URL"] = "http", url
		key, ep := getenv(EnvAPIKey), getenv(EnvEndpoint)
		if key != "" {
			b, _ := json.Marshal(map[string]string{"type": "api_key", "apiKey": key})
			vars[m+"AUTH"] = string(b)
		}
		if ep != "" {
			vars[m+"ENDPOINT"] = ep
		}
		if vars[envPrefix+"TRANSPORT__TYPE"] == "async_http" && vars[envPrefix+"TRANSPORT__URL"] == "" {
			vars[envPrefix+"TRANSPORT__URL"] = url
			if key != "" && vars[envPrefix+"TRANSPORT__AUTH"] == "" {
				vars[envPrefix+"TRANSPORT__AUTH"] = vars[m+"AUTH"]
			}
			if ep != "" && vars[envPrefix+"TRANSPORT__ENDPOINT"] == "" {
				vars[envPrefix+"TRANSPORT__ENDPOINT"] = ep
			}
		}
	}
	keys := slices.Sorted(maps.Keys(vars))
	slices.Reverse(keys)
	root := &yaml.Node{Kind: yaml.MappingNode}
	for _, k := range keys {
		path := strings.Split(strings.ToLower(k[len(envPrefix):]), "__")
		m := root
		for _, p := range path[:len(path)-1] {
			next := mapGet(m, p)
			if next == nil || next.Kind != yaml.MappingNode {
				next = &yaml.Node{Kind: yaml.MappingNode}
				mapSet(m, p, next)
			}
			m = next
		}
		mapSet(m, path[len(path)-1], envValue(k, vars[k], warn))
	}
	return root
}

func envValue(name, v string, warn func(string, ...any)) *yaml.Node {
	if json.Valid([]byte(v)) {
		var doc yaml.Node
		if yaml.Unmarshal([]byte(v), &doc) == nil && len(doc.Content) == 1 {
			return doc.Content[0]
		}
	} else if strings.ContainsAny(v, "{}[]") {
		warn("%s is not valid JSON; taken as a plain string", name)
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
}

// onlyAlias reports whether the variables' transport holds nothing but the
// default_http member that OPENLINEAGE_URL was aliased to.
func onlyAlias(t *yaml.Node) bool {
	if t.Kind != yaml.MappingNode || len(t.Content) != 2 || t.Content[0].Value != "transports" {
		return false
	}
	ts := t.Content[1]
	return ts.Kind == yaml.MappingNode && len(ts.Content) == 2 && ts.Content[0].Value == defaultHTTPName
}

// ---- mapping nodes ----

func mapGet(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func mapSet(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
}

// deepMerge is the Python client's deep_merge_dicts: b's values win, two
// mappings merge key by key, and a's key order comes first.
func deepMerge(a, b *yaml.Node) *yaml.Node {
	if a == nil || a.Kind != yaml.MappingNode {
		return b
	}
	if b == nil || b.Kind != yaml.MappingNode {
		return a
	}
	out := &yaml.Node{Kind: yaml.MappingNode, Content: slices.Clone(a.Content)}
	for i := 0; i+1 < len(b.Content); i += 2 {
		k, v := b.Content[i].Value, b.Content[i+1]
		if old := mapGet(out, k); old != nil && old.Kind == yaml.MappingNode && v.Kind == yaml.MappingNode {
			v = deepMerge(old, v)
		}
		mapSet(out, k, v)
	}
	return out
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return ""
	}
	return strings.TrimSpace(n.Value)
}

// ---- the key-normalising pass ----

// normKey makes api_key, apiKey and APIKEY the same key.
func normKey(k string) string {
	return strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(k))
}

// sections are the known keys of each section of the configuration.
// Several spellings of one key (the Python, Java and older salesdag names)
// lead to the first, canonical one; a key that is a section of its own
// names it after a colon.
var sections = map[string][][]string{
	"root": {{"transport:transport"}, {"facets:facets"}, {"filters:filter"}, {"tags:tags"}},
	"transport": {{"type"}, {"name"}, {"priority"},
		{"url"}, {"endpoint"}, {"timeout"}, {"verify"}, {"auth:auth"}, {"compression"}, {"custom_headers", "headers"},
		{"log_file_path", "location", "log_file_location"}, {"append"},
		{"transports:transport"}, {"continue_on_failure"}, {"continue_on_success"}, {"sort_transports"}},
	"auth":   {{"type"}, {"apiKey"}},
	"facets": {{"environment_variables"}, {"source_code_location:scl"}, {"disabled"}},
	"scl":    {{"disabled"}, {"repo_url"}, {"version"}, {"tag"}, {"branch"}, {"pull_request_number"}},
	"filter": {{"type"}, {"match"}, {"regex"}},
	"tags":   {{"job"}, {"run"}},
}

// ignoredKeys are settings of the Python client that salesdag has its own
// way for.
var ignoredKeys = map[string]string{
	"retry":                   "salesdag retries with its own backoff and outbox",
	"max_queue_size":          "salesdag queues without a bound",
	"max_concurrent_requests": "salesdag sends one request at a time per transport",
	"storage_options":         "remote file systems are not supported",
	"filesystem":              "remote file systems are not supported",
	"fs_kwargs":               "remote file systems are not supported",
	"debug_mode":              "not supported",
}

// normalize renames the keys of one section (of the kind given) to their
// canonical spelling, recursing into subsections, and tells report (when
// not nil) of each key it does not know.
func normalize(n *yaml.Node, path, section string, report func(string)) {
	switch typ := strings.ToLower(scalar(mapGet(n, "type"))); {
	case n == nil || n.Kind != yaml.MappingNode:
		return
	case section == "auth" && typ != "" && typ != "api_key":
		report = nil // other auth types are refused as a whole
	case section == "transport" && !slices.Contains([]string{TypeConsole, TypeHTTP, "async_http", TypeFile, TypeComposite, TypeNone, "noop", ""}, typ):
		report = nil // a type salesdag does not ship: its keys are not ours to judge
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		canon, sub := "", ""
		for _, spellings := range sections[section] {
			for _, sp := range spellings {
				if name, _, _ := strings.Cut(sp, ":"); normKey(name) == normKey(k.Value) {
					canon, sub, _ = strings.Cut(spellings[0], ":")
				}
			}
		}
		p := strings.TrimPrefix(path+"."+cmp.Or(canon, k.Value), ".")
		switch {
		case canon != "" && seen[canon]:
			// Two spellings of one key: the first one counts.
			n.Content = slices.Delete(n.Content, i, i+2)
			i -= 2
			continue
		case canon != "":
			k.Value, seen[canon] = canon, true
		case report != nil && ignoredKeys[k.Value] != "":
			report(fmt.Sprintf("%s is ignored: %s", p, ignoredKeys[k.Value]))
			continue
		case report != nil:
			report(fmt.Sprintf("%s is not a known setting; ignored", p))
			continue
		}
		switch v := n.Content[i+1]; {
		case canon == "transports":
			eachMember(v, p, func(_, mp string, m *yaml.Node) { normalize(m, mp, sub, report) })
		case canon == "filters" && v.Kind == yaml.SequenceNode:
			for j, f := range v.Content {
				normalize(f, fmt.Sprintf("%s[%d]", p, j), sub, report)
			}
		case sub != "":
			normalize(v, p, sub, report)
		}
	}
}

// eachMember calls fn for each member of a composite's transports, a list
// or a mapping of names to transports. Empty members are left out (that
// is how OPENLINEAGE__TRANSPORT__TRANSPORTS__DEFAULT_HTTP='{}' drops one).
func eachMember(n *yaml.Node, path string, fn func(name, path string, m *yaml.Node)) {
	switch n.Kind {
	case yaml.SequenceNode:
		for i, m := range n.Content {
			fn("", fmt.Sprintf("%s[%d]", path, i), m)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			name, m := n.Content[i].Value, n.Content[i+1]
			if m.Tag == "!!null" || (m.Kind == yaml.MappingNode && len(m.Content) == 0) {
				continue
			}
			fn(name, path+"."+name, m)
		}
	}
}

// ---- the typed decode ----

// text is any YAML scalar as a string (a port, a key of digits, true).
type text string

func (t *text) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return lineErr(n, "must be a single value")
	}
	*t = text(scalar(n))
	return nil
}

// flag is a boolean written as YAML, JSON or a string.
type flag bool

func (f *flag) UnmarshalYAML(n *yaml.Node) error {
	switch strings.ToLower(scalar(n)) {
	case "true", "yes", "on", "1":
		*f = true
	case "false", "no", "off", "0":
		*f = false
	default:
		return lineErr(n, "must be true or false")
	}
	return nil
}

// seconds is a timeout in seconds (5, 2.5, "5") or a Go duration ("1500ms").
type seconds time.Duration

func (s *seconds) UnmarshalYAML(n *yaml.Node) error {
	v := scalar(n)
	secs, err := strconv.ParseFloat(v, 64)
	if err != nil {
		d, derr := time.ParseDuration(v)
		if derr != nil || n.Kind != yaml.ScalarNode {
			return lineErr(n, `timeout must be seconds (like 5 or 2.5) or a duration (like "1500ms")`)
		}
		secs = d.Seconds()
	}
	if secs <= 0 || secs > 3600 {
		return lineErr(n, "timeout must be between 0 and 3600 seconds")
	}
	*s = seconds(time.Duration(secs * float64(time.Second)))
	return nil
}

func lineErr(n *yaml.Node, msg string) error {
	if n.Line > 0 {
		return fmt.Errorf("line %d: %s", n.Line, msg)
	}
	return errors.New(msg)
}

type transportSpec struct {
	Type              text            `yaml:"type"`
	Name              text            `yaml:"name"`
	Priority          text            `yaml:"priority"`
	URL               text            `yaml:"url"`
	Endpoint          text            `yaml:"endpoint"`
	Timeout           seconds         `yaml:"timeout"`
	Verify            *flag           `yaml:"verify"`
	Compression       text            `yaml:"compression"`
	CustomHeaders     map[string]text `yaml:"custom_headers"`
	Auth              *authSpec       `yaml:"auth"`
	LogFilePath       text            `yaml:"log_file_path"`
	Append            flag            `yaml:"append"`
	Transports        yaml.Node       `yaml:"transports"`
	ContinueOnFailure *flag           `yaml:"continue_on_failure"`
	ContinueOnSuccess *flag           `yaml:"continue_on_success"`
	SortTransports    flag            `yaml:"sort_transports"`
}

type authSpec struct {
	Type   text `yaml:"type"`
	APIKey text `yaml:"apiKey"`
}

func (a *authSpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return lineErr(n, "auth must be a mapping like {type: api_key, apiKey: ...}")
	}
	type plain authSpec
	return n.Decode((*plain)(a))
}

// decodeTransport reads one transport. It never fails: what salesdag
// cannot use is marked Unusable with the reason.
func decodeTransport(n *yaml.Node, path string, warn func(string, ...any)) TransportConfig {
	if n.Kind != yaml.MappingNode {
		return finish(TransportConfig{Unusable: "must be a mapping with a type"}, path)
	}
	var s transportSpec
	if err := n.Decode(&s); err != nil {
		return finish(TransportConfig{Type: strings.ToLower(string(s.Type)), Unusable: err.Error()}, path)
	}
	t := TransportConfig{
		Type:               strings.ToLower(string(s.Type)),
		Name:               string(s.Name),
		URL:                string(s.URL),
		Endpoint:           string(s.Endpoint),
		Timeout:            time.Duration(s.Timeout),
		Compression:        string(s.Compression),
		InsecureSkipVerify: s.Verify != nil && !bool(*s.Verify),
		LogFilePath:        string(s.LogFilePath),
		Append:             bool(s.Append),
		StopOnFailure:      s.ContinueOnFailure != nil && !bool(*s.ContinueOnFailure),
		StopOnSuccess:      s.ContinueOnSuccess != nil && !bool(*s.ContinueOnSuccess),
		SortTransports:     bool(s.SortTransports),
	}
	if s.Priority != "" {
		p, err := strconv.Atoi(string(s.Priority))
		if err != nil {
			warn("%s.priority must be a whole number; 0 used", path)
		}
		t.Priority = p
	}
	for k, v := range s.CustomHeaders {
		if t.CustomHeaders == nil {
			t.CustomHeaders = map[string]string{}
		}
		t.CustomHeaders[k] = string(v)
	}
	t.Type = cmp.Or(map[string]string{"noop": TypeNone, "async_http": TypeHTTP}[t.Type], t.Type)
	if a := s.Auth; a != nil && t.Type == TypeHTTP {
		t.APIKey = Secret(a.APIKey)
		switch typ := strings.ToLower(string(a.Type)); {
		case typ != "" && typ != "api_key":
			t.Unusable = fmt.Sprintf("auth type %q is not supported by salesdag (use api_key)", a.Type)
		case t.APIKey == "":
			t.Unusable = "auth needs an apiKey"
		}
	}
	if t.Type == TypeComposite {
		if s.Transports.Kind != yaml.SequenceNode && s.Transports.Kind != yaml.MappingNode {
			t.Unusable = "a composite needs transports: a list or a mapping of transports"
		}
		eachMember(&s.Transports, path+".transports", func(name, p string, m *yaml.Node) {
			sub := decodeTransport(m, p, warn)
			sub.Name = cmp.Or(sub.Name, name)
			t.Transports = append(t.Transports, sub)
		})
		if t.SortTransports {
			sort.SliceStable(t.Transports, func(i, j int) bool { return t.Transports[i].Priority > t.Transports[j].Priority })
		}
	}
	return finish(t, path)
}

// finish checks what a transport of t's type needs, marking it Unusable
// with the first thing missing.
func finish(t TransportConfig, path string) TransportConfig {
	if t.Unusable == "" {
		switch t.Type {
		case TypeConsole, TypeNone:
		case TypeHTTP:
			if t.URL == "" {
				t.Unusable = fmt.Sprintf("the http transport needs a url (set %s or %s.url, or pass --lineage-url)", EnvURL, path)
			} else if _, err := NewHTTPTransport(t.httpConfig()); err != nil {
				t.Unusable, t.URL = err.Error(), redactURL(t.URL)
			}
		case TypeFile:
			switch p := t.LogFilePath; {
			case p == "":
				t.Unusable = "the file transport needs log_file_path"
			case strings.HasPrefix(p, "file://"):
				t.LogFilePath = strings.TrimPrefix(strings.TrimPrefix(p, "file://"), "localhost")
			case strings.Contains(p, "://"):
				t.Unusable = "log_file_path " + p + " is on a remote file system, which salesdag does not write to"
			}
		case TypeComposite:
			if len(t.Transports) == 0 {
				t.Unusable = "a composite needs at least one transport"
			}
		case "":
			t.Type, t.Unusable = TypeNone, "the transport has no type"
		default:
			t.Unusable = fmt.Sprintf("salesdag has no %q transport (it has console, http, file, composite, noop)", t.Type)
		}
	}
	if t.Unusable != "" && !strings.HasPrefix(t.Unusable, path+":") {
		t.Unusable = path + ": " + t.Unusable
	}
	return t
}

// secrets are the API keys of t and its members.
func (t TransportConfig) secrets() []string {
	out := []string{t.APIKey.Reveal()}
	for _, m := range t.Transports {
		out = append(out, m.secrets()...)
	}
	return out
}

func (t *TransportConfig) httpConfig() HTTPConfig {
	return HTTPConfig{
		URL:                t.URL,
		Endpoint:           t.Endpoint,
		APIKey:             t.APIKey,
		Timeout:            t.Timeout,
		Compression:        t.Compression,
		CustomHeaders:      t.CustomHeaders,
		InsecureSkipVerify: t.InsecureSkipVerify,
	}
}

// ---- building ----

// NewTransport builds the configured transport. Console events go to
// console, which must be a stream of their own.
func (c Config) NewTransport(console io.Writer) (Transport, error) {
	if c.Disabled {
		return NoneTransport{}, nil
	}
	return c.Transport.build(console)
}

func (t TransportConfig) build(console io.Writer) (Transport, error) {
	if t.Unusable != "" && t.Type != TypeComposite {
		return &HeldTransport{Kind: cmp.Or(t.Type, "transport"), Reason: t.Unusable}, nil
	}
	switch t.Type {
	case TypeConsole:
		if console == nil {
			console = os.Stdout
		}
		return NewConsoleTransport(console), nil
	case TypeHTTP:
		return NewHTTPTransport(t.httpConfig())
	case TypeFile:
		return NewFileTransport(t.LogFilePath, t.Append), nil
	case TypeNone, "":
		return NoneTransport{}, nil
	case TypeComposite:
		var ms []Transport
		for _, sub := range t.Transports {
			m, err := sub.build(console)
			if err != nil {
				return nil, err
			}
			ms = append(ms, m)
		}
		if len(ms) == 0 {
			return &HeldTransport{Kind: t.Type, Reason: t.Unusable}, nil
		}
		if t.StopOnFailure || t.StopOnSuccess {
			return NewSequentialTransport(ms, !t.StopOnFailure, !t.StopOnSuccess), nil
		}
		return NewCompositeTransport(ms...), nil
	}
	return nil, fmt.Errorf("lineage: transport type %q is not supported", t.Type)
}

// String describes the configuration without secrets or header values.
func (c Config) String() string {
	s := c.Transport.String()
	if c.Disabled {
		s = "none (OPENLINEAGE_DISABLED)"
	}
	return fmt.Sprintf("lineage %s, namespace %q, from %s", s, c.Namespace, c.Source)
}

// String describes the transport without secrets or header values.
func (t TransportConfig) String() string {
	if t.Unusable != "" && t.Type != TypeComposite {
		return cmp.Or(t.Type, "transport") + "(unusable: events kept in the outbox)"
	}
	switch t.Type {
	case TypeHTTP:
		parts := []string{redactURL(t.URL), "endpoint " + cmp.Or(t.Endpoint, DefaultEndpoint)}
		if t.APIKey != "" {
			parts = append(parts, "api key set")
		}
		if t.Compression != "" {
			parts = append(parts, t.Compression)
		}
		if len(t.CustomHeaders) > 0 {
			parts = append(parts, "headers "+strings.Join(slices.Sorted(maps.Keys(t.CustomHeaders)), ","))
		}
		return "http(" + strings.Join(parts, ", ") + ")"
	case TypeFile:
		return "file(" + t.LogFilePath + ")"
	case TypeComposite:
		subs := make([]string, len(t.Transports))
		for i, s := range t.Transports {
			subs[i] = s.String()
		}
		return "composite(" + strings.Join(subs, ", ") + ")"
	case "":
		return TypeNone
	}
	return t.Type
}

func truthy(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// redactAll hides secrets in s. Messages are written without values in
// the first place; this is the second line of defence, and it leaves keys
// shorter than 4 characters alone rather than star out every such letter.
func redactAll(s string, secrets []string) string {
	for _, k := range secrets {
		if k = strings.TrimSpace(k); len(k) >= 4 {
			s = strings.ReplaceAll(s, k, "***")
		}
	}
	return s
}
