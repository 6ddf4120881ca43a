package lineage

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// Transport types.
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

// TransportConfig is one transport's settings, with the fields of every
// type; Type says which apply.
type TransportConfig struct {
	Type string
	Name string // member name inside a composite

	// http
	URL                string
	Endpoint           string
	APIKey             Secret
	Timeout            time.Duration
	Compression        string
	CustomHeaders      map[string]string
	InsecureSkipVerify bool

	// file
	LogFileLocation string
	Append          bool

	// composite
	Transports []TransportConfig
}

// Config is the resolved lineage configuration.
type Config struct {
	Disabled  bool // OPENLINEAGE_DISABLED or --lineage none
	Namespace string
	Transport TransportConfig
	// Source says where the transport settings came from, for messages:
	// "openlineage.yml (/path)", "OPENLINEAGE__* variables",
	// "OPENLINEAGE_URL", "flags" or "default".
	Source string
	// Warnings are problems that did not stop loading (unknown keys).
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

// LoadConfig resolves the configuration as the OpenLineage clients do.
// The transport comes from the first of: openlineage.yml (found through
// $OPENLINEAGE_CONFIG, ./openlineage.yml, ~/.openlineage/openlineage.yml),
// OPENLINEAGE__* variables (double underscore = nesting, keys lower-cased),
// OPENLINEAGE_URL (+ OPENLINEAGE_ENDPOINT, OPENLINEAGE_API_KEY), and
// otherwise console. OPENLINEAGE_DISABLED=true turns lineage off. The
// Overrides then win over all of it. Errors never contain the API key.
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
	if err != nil {
		secrets := []string{getenv(EnvAPIKey), opts.Overrides.APIKey, cfg.Transport.APIKey.Reveal()}
		return Config{}, errors.New(redactAll(err.Error(), secrets))
	}
	return cfg, nil
}

func loadConfig(opts LoadOptions, getenv func(string) string, environ func() []string) (Config, error) {
	ov := opts.Overrides
	cfg := Config{Namespace: DefaultNamespace}
	if ns := strings.TrimSpace(getenv(EnvNamespace)); ns != "" {
		cfg.Namespace = ns
	}
	if ov.Namespace != "" {
		cfg.Namespace = ov.Namespace
	}
	cfg.Disabled = truthy(getenv(EnvDisabled))

	var tm map[string]any
	file, err := findConfigFile(opts, getenv)
	if err != nil {
		return cfg, err
	}
	if file != "" {
		doc, err := readYAML(file)
		if err != nil {
			return cfg, err
		}
		if t, ok := lookup(doc, "transport"); ok {
			m, ok := t.(map[string]any)
			if !ok {
				return cfg, fmt.Errorf("lineage config %s: transport must be a mapping with a type", file)
			}
			tm, cfg.Source = m, "openlineage.yml ("+file+")"
		}
	}
	if tm == nil {
		env := envTree(environ())
		if t, ok := lookup(env, "transport"); ok {
			m, ok := t.(map[string]any)
			if !ok {
				return cfg, fmt.Errorf("lineage config: %sTRANSPORT must hold a JSON object or nested %sTRANSPORT__* variables", envPrefix, envPrefix)
			}
			tm, cfg.Source = m, "OPENLINEAGE__* variables"
		}
	}
	switch {
	case tm != nil:
		tc, warns, err := decodeTransport(tm, "transport")
		if err != nil {
			return cfg, fmt.Errorf("lineage config from %s: %w", cfg.Source, err)
		}
		cfg.Transport, cfg.Warnings = tc, warns
	case strings.TrimSpace(getenv(EnvURL)) != "":
		cfg.Transport = legacyHTTP(getenv)
		cfg.Source = EnvURL
	default:
		cfg.Transport = TransportConfig{Type: TypeConsole}
		cfg.Source = "default"
	}
	if err := applyOverrides(&cfg, ov, getenv); err != nil {
		return cfg, err
	}
	if cfg.Disabled {
		cfg.Transport = TransportConfig{Type: TypeNone}
	}
	if err := cfg.Transport.validate("transport"); err != nil {
		return cfg, fmt.Errorf("lineage config from %s: %w", cfg.Source, err)
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
		if typ != cfg.Transport.Type {
			switch typ {
			case TypeHTTP:
				// Switching to HTTP by flag: take what the legacy variables
				// say, then the flags.
				cfg.Transport = legacyHTTP(getenv)
			case TypeConsole, TypeFile, TypeNone:
				cfg.Transport = TransportConfig{Type: typ, Append: true}
			default:
				return fmt.Errorf("lineage: transport %q given by flag is not one of console, http, file, none", ov.Transport)
			}
		}
		cfg.Source = "flags"
	}
	t := &cfg.Transport
	switch t.Type {
	case TypeHTTP:
		if ov.URL != "" {
			t.URL = ov.URL
		}
		if ov.Endpoint != "" {
			t.Endpoint = ov.Endpoint
		}
		if ov.APIKey != "" {
			t.APIKey = Secret(ov.APIKey)
		}
		if ov.Timeout > 0 {
			t.Timeout = ov.Timeout
		}
		if ov.Compression != "" {
			t.Compression = ov.Compression
		}
	case TypeFile:
		if ov.File != "" {
			t.LogFileLocation = ov.File
		}
		if t.LogFileLocation == "" {
			t.LogFileLocation = DefaultEventsFile
		}
	}
	return nil
}

func findConfigFile(opts LoadOptions, getenv func(string) string) (string, error) {
	if p := strings.TrimSpace(getenv(EnvConfig)); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("lineage config: %s=%s: %w (point it at an existing openlineage.yml or unset it)", EnvConfig, p, err)
		}
		return p, nil
	}
	wd := opts.WorkDir
	if wd == "" {
		wd, _ = os.Getwd()
	}
	home := opts.HomeDir
	if home == "" {
		home, _ = os.UserHomeDir()
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
			return c, nil
		}
	}
	return "", nil
}

func readYAML(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("lineage config: read %s: %w", path, err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		// yaml's messages give line numbers, not values.
		return nil, fmt.Errorf("lineage config: %s is not valid YAML: %w", path, err)
	}
	return doc, nil
}

// envTree turns OPENLINEAGE__A__B=v variables into {"a":{"b":v}}. Values
// that look like JSON objects or arrays are parsed as JSON; everything else
// stays a string (an API key of digits must not become a number).
func envTree(environ []string) map[string]any {
	type kv struct {
		path []string
		val  string
	}
	var vars []kv
	for _, e := range environ {
		k, v, ok := strings.Cut(e, "=")
		if !ok || !strings.HasPrefix(k, envPrefix) || len(k) == len(envPrefix) {
			continue
		}
		path := strings.Split(strings.ToLower(k[len(envPrefix):]), "__")
		if slices.Contains(path, "") {
			continue
		}
		vars = append(vars, kv{path, v})
	}
	// Parents before children, so OPENLINEAGE__TRANSPORT='{...}' can be
	// refined by OPENLINEAGE__TRANSPORT__URL.
	sort.SliceStable(vars, func(i, j int) bool { return len(vars[i].path) < len(vars[j].path) })
	root := map[string]any{}
	for _, v := range vars {
		var val any = v.val
		if s := strings.TrimSpace(v.val); strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[") {
			var parsed any
			if err := json.Unmarshal([]byte(s), &parsed); err == nil {
				val = parsed
			}
		}
		m := root
		for _, p := range v.path[:len(v.path)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		last := v.path[len(v.path)-1]
		if old, ok := m[last].(map[string]any); ok {
			if nv, ok := val.(map[string]any); ok {
				for k, x := range nv {
					if _, set := old[k]; !set {
						old[k] = x
					}
				}
				continue
			}
		}
		m[last] = val
	}
	return root
}

// normKey makes api_key, apiKey and APIKEY the same key.
func normKey(k string) string {
	return strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(k))
}

func lookup(m map[string]any, key string) (any, bool) {
	want := normKey(key)
	for k, v := range m {
		if normKey(k) == want {
			return v, true
		}
	}
	return nil, false
}

func decodeTransport(m map[string]any, path string) (TransportConfig, []string, error) {
	var tc TransportConfig
	var warns []string
	d := decoder{m: m, path: path}
	tc.Type = strings.ToLower(d.str("type"))
	tc.Name = d.str("name")
	switch tc.Type {
	case "":
		return tc, nil, fmt.Errorf("%s.type is missing (use console, http, file, composite or none)", path)
	case TypeConsole, TypeNone:
	case TypeHTTP:
		tc.URL = d.str("url")
		tc.Endpoint = d.str("endpoint")
		tc.Timeout = d.duration("timeout")
		tc.Compression = d.str("compression")
		if v, ok := d.get("verify"); ok {
			tc.InsecureSkipVerify = !d.asBool("verify", v)
		}
		tc.CustomHeaders = d.strMap("custom_headers")
		if h := d.strMap("headers"); h != nil {
			if tc.CustomHeaders == nil {
				tc.CustomHeaders = map[string]string{}
			}
			for k, v := range h {
				tc.CustomHeaders[k] = v
			}
		}
		if a, ok := d.get("auth"); ok {
			am, ok := a.(map[string]any)
			if !ok {
				d.fail("auth must be a mapping like {type: api_key, apiKey: ...}")
			} else {
				ad := decoder{m: am, path: path + ".auth"}
				typ := strings.ToLower(ad.str("type"))
				key := ad.str("api_key")
				if typ != "" && normKey(typ) != "apikey" {
					ad.fail(fmt.Sprintf("type %q is not supported (use api_key)", typ))
				}
				tc.APIKey = Secret(key)
				warns = append(warns, ad.unknown("type", "api_key")...)
				d.errs = append(d.errs, ad.errs...)
			}
		}
		warns = append(warns, d.unknown("type", "name", "url", "endpoint", "timeout", "compression", "verify", "custom_headers", "headers", "auth")...)
	case TypeFile:
		tc.LogFileLocation = d.str("log_file_location")
		tc.Append = true
		if v, ok := d.get("append"); ok {
			tc.Append = d.asBool("append", v)
		}
		warns = append(warns, d.unknown("type", "name", "log_file_location", "append")...)
	case TypeComposite:
		raw, ok := d.get("transports")
		if !ok {
			return tc, nil, fmt.Errorf("%s.transports is missing: a composite needs a list or map of transports", path)
		}
		members, err := compositeMembers(raw, path+".transports")
		if err != nil {
			return tc, nil, err
		}
		for _, mm := range members {
			sub, w, err := decodeTransport(mm.m, mm.path)
			if err != nil {
				return tc, nil, err
			}
			if sub.Name == "" {
				sub.Name = mm.name
			}
			tc.Transports = append(tc.Transports, sub)
			warns = append(warns, w...)
		}
		warns = append(warns, d.unknown("type", "name", "transports", "continue_on_failure", "sort_transports")...)
	default:
		return tc, nil, fmt.Errorf("%s.type %q is not supported (use console, http, file, composite or none)", path, tc.Type)
	}
	if len(d.errs) > 0 {
		return tc, nil, errors.Join(d.errs...)
	}
	return tc, warns, nil
}

type member struct {
	name, path string
	m          map[string]any
}

func compositeMembers(raw any, path string) ([]member, error) {
	var out []member
	switch v := raw.(type) {
	case []any:
		for i, x := range v {
			m, ok := x.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s[%d] must be a mapping with a type", path, i)
			}
			out = append(out, member{path: fmt.Sprintf("%s[%d]", path, i), m: m})
		}
	case map[string]any:
		names := make([]string, 0, len(v))
		for k := range v {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, n := range names {
			m, ok := v[n].(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s.%s must be a mapping with a type", path, n)
			}
			out = append(out, member{name: n, path: path + "." + n, m: m})
		}
	default:
		return nil, fmt.Errorf("%s must be a list or a mapping of transports", path)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s is empty: a composite needs at least one transport", path)
	}
	return out, nil
}

// decoder reads loosely typed values (YAML scalars, env strings) into
// typed fields, collecting errors that name keys but never values.
type decoder struct {
	m    map[string]any
	path string
	errs []error
}

func (d *decoder) get(key string) (any, bool) { return lookup(d.m, key) }

func (d *decoder) fail(msg string) { d.errs = append(d.errs, fmt.Errorf("%s: %s", d.path, msg)) }

func (d *decoder) str(key string) string {
	v, ok := d.get(key)
	if !ok || v == nil {
		return ""
	}
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case int, int64, float64, bool, uint64:
		return fmt.Sprint(x)
	}
	d.fail(key + " must be a single value")
	return ""
}

func (d *decoder) asBool(key string, v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		if b, err := strconv.ParseBool(strings.TrimSpace(x)); err == nil {
			return b
		}
	}
	d.fail(key + " must be true or false")
	return false
}

// duration reads seconds (5, 2.5, "5") or a Go duration ("1500ms").
func (d *decoder) duration(key string) time.Duration {
	v, ok := d.get(key)
	if !ok || v == nil {
		return 0
	}
	var secs float64
	switch x := v.(type) {
	case int:
		secs = float64(x)
	case float64:
		secs = x
	case string:
		s := strings.TrimSpace(x)
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			secs = f
		} else if dur, err := time.ParseDuration(s); err == nil && dur > 0 {
			return dur
		} else {
			d.fail(key + ` must be seconds (like 5 or 2.5) or a duration (like "1500ms")`)
			return 0
		}
	default:
		d.fail(key + " must be a number of seconds")
		return 0
	}
	if secs <= 0 || secs > 3600 {
		d.fail(key + " must be between 0 and 3600 seconds")
		return 0
	}
	return time.Duration(secs * float64(time.Second))
}

func (d *decoder) strMap(key string) map[string]string {
	v, ok := d.get(key)
	if !ok || v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		d.fail(key + " must be a mapping of header names to values")
		return nil
	}
	out := make(map[string]string, len(m))
	for k, x := range m {
		out[k] = fmt.Sprint(x)
	}
	return out
}

func (d *decoder) unknown(known ...string) []string {
	var out []string
	for k := range d.m {
		if !slices.ContainsFunc(known, func(s string) bool { return normKey(s) == normKey(k) }) {
			out = append(out, fmt.Sprintf("lineage config: %s.%s is not a known setting; ignored", d.path, k))
		}
	}
	sort.Strings(out)
	return out
}

func (t *TransportConfig) validate(path string) error {
	switch t.Type {
	case TypeConsole, TypeNone:
	case TypeHTTP:
		if t.URL == "" {
			return fmt.Errorf("%s: the http transport needs a url (set %s or transport.url, or pass --lineage-url)", path, EnvURL)
		}
		if _, err := NewHTTPTransport(t.httpConfig()); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	case TypeFile:
		if t.LogFileLocation == "" {
			return fmt.Errorf("%s: the file transport needs log_file_location", path)
		}
	case TypeComposite:
		if len(t.Transports) == 0 {
			return fmt.Errorf("%s: a composite needs at least one transport", path)
		}
		for i := range t.Transports {
			if err := t.Transports[i].validate(fmt.Sprintf("%s.transports[%d]", path, i)); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("%s: type %q is not supported (use console, http, file, composite or none)", path, t.Type)
	}
	return nil
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

// NewTransport builds the configured transport. Console events go to
// console, which must be a stream of their own.
func (c Config) NewTransport(console io.Writer) (Transport, error) {
	if c.Disabled {
		return NoneTransport{}, nil
	}
	return c.Transport.build(console)
}

func (t TransportConfig) build(console io.Writer) (Transport, error) {
	switch t.Type {
	case TypeConsole:
		if console == nil {
			console = os.Stdout
		}
		return NewConsoleTransport(console), nil
	case TypeHTTP:
		return NewHTTPTransport(t.httpConfig())
	case TypeFile:
		return NewFileTransport(t.LogFileLocation, t.Append), nil
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
	switch t.Type {
	case TypeHTTP:
		parts := []string{redactURL(t.URL)}
		ep := t.Endpoint
		if ep == "" {
			ep = DefaultEndpoint
		}
		parts = append(parts, "endpoint "+ep)
		if t.APIKey != "" {
			parts = append(parts, "api key set")
		}
		if t.Compression != "" {
			parts = append(parts, t.Compression)
		}
		if len(t.CustomHeaders) > 0 {
			names := make([]string, 0, len(t.CustomHeaders))
			for k := range t.CustomHeaders {
				names = append(names, k)
			}
			sort.Strings(names)
			parts = append(parts, "headers "+strings.Join(names, ","))
		}
		return "http(" + strings.Join(parts, ", ") + ")"
	case TypeFile:
		return "file(" + t.LogFileLocation + ")"
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

func redactAll(s string, secrets []string) string {
	for _, k := range secrets {
		if k = strings.TrimSpace(k); k != "" {
			s = strings.ReplaceAll(s, k, "***")
		}
	}
	return s
}
