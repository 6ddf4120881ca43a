package lineage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/lineage"
)

const secretKey = "s3cr3t-api-key-0042"

type cfgEnv struct {
	vars    map[string]string
	cwdYAML string // openlineage.yml in the working directory
	homeYML string // ~/.openlineage/openlineage.yml
	cfgYAML string // file named by OPENLINEAGE_CONFIG
}

func loadWith(t *testing.T, e cfgEnv, ov lineage.Overrides) (lineage.Config, error) {
	t.Helper()
	wd, home := t.TempDir(), t.TempDir()
	vars := map[string]string{}
	for k, v := range e.vars {
		vars[k] = v
	}
	if e.cwdYAML != "" {
		require.NoError(t, os.WriteFile(filepath.Join(wd, "openlineage.yml"), []byte(e.cwdYAML), 0o644))
	}
	if e.homeYML != "" {
		require.NoError(t, os.MkdirAll(filepath.Join(home, ".openlineage"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(home, ".openlineage", "openlineage.yml"), []byte(e.homeYML), 0o644))
	}
	if e.cfgYAML != "" {
		p := filepath.Join(t.TempDir(), "custom.yml")
		require.NoError(t, os.WriteFile(p, []byte(e.cfgYAML), 0o644))
		vars["OPENLINEAGE_CONFIG"] = p
	}
	var environ []string
	for k, v := range vars {
		environ = append(environ, k+"="+v)
	}
	sort.Strings(environ)
	return lineage.LoadConfig(lineage.LoadOptions{
		Overrides: ov,
		Getenv:    func(k string) string { return vars[k] },
		Environ:   func() []string { return environ },
		WorkDir:   wd,
		HomeDir:   home,
	})
}

const httpYAML = `
transport:
  type: http
  url: http://yaml-backend:5000
  endpoint: api/v1/lineage
  timeout: 2.5
  compression: gzip
  auth:
    type: api_key
    apiKey: ` + secretKey + `
  custom_headers:
    X-Team: sales
`

func TestConfigPrecedence(t *testing.T) {
	legacy := map[string]string{"OPENLINEAGE_URL": "http://legacy:5000", "OPENLINEAGE_ENDPOINT": "api/v2/events", "OPENLINEAGE_API_KEY": secretKey}
	nested := map[string]string{"OPENLINEAGE__TRANSPORT__TYPE": "http", "OPENLINEAGE__TRANSPORT__URL": "http://nested:5000", "OPENLINEAGE__TRANSPORT__AUTH__API_KEY": secretKey}
	merge := func(ms ...map[string]string) map[string]string {
		out := map[string]string{}
		for _, m := range ms {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	cases := []struct {
		name       string
		env        cfgEnv
		ov         lineage.Overrides
		wantType   string
		wantURL    string
		wantSource string
		check      func(t *testing.T, c lineage.Config)
	}{
		{name: "nothing configured is console", wantType: "console", wantSource: "default"},
		{name: "legacy variables", env: cfgEnv{vars: legacy}, wantType: "http", wantURL: "http://legacy:5000", wantSource: "OPENLINEAGE_URL",
			check: func(t *testing.T, c lineage.Config) {
				require.Equal(t, "api/v2/events", c.Transport.Endpoint)
				require.Equal(t, secretKey, c.Transport.APIKey.Reveal())
			}},
		{name: "nested variables beat legacy", env: cfgEnv{vars: merge(legacy, nested)}, wantType: "http", wantURL: "http://nested:5000", wantSource: "OPENLINEAGE__* variables",
			check: func(t *testing.T, c lineage.Config) {
				require.Equal(t, secretKey, c.Transport.APIKey.Reveal())
				require.Empty(t, c.Transport.Endpoint, "legacy endpoint does not leak into the nested config")
			}},
		{name: "yaml in working dir beats variables", env: cfgEnv{vars: merge(legacy, nested), cwdYAML: httpYAML}, wantType: "http", wantURL: "http://yaml-backend:5000", wantSource: "openlineage.yml",
			check: func(t *testing.T, c lineage.Config) {
				require.Equal(t, 2500*time.Millisecond, c.Transport.Timeout)
				require.Equal(t, "gzip", c.Transport.Compression)
				require.Equal(t, map[string]string{"X-Team": "sales"}, c.Transport.CustomHeaders)
				require.Equal(t, secretKey, c.Transport.APIKey.Reveal())
			}},
		{name: "yaml in home", env: cfgEnv{homeYML: "transport:\n  type: file\n  log_file_location: /tmp/ol.jsonl\n  append: false\n"}, wantType: "file", wantSource: ".openlineage",
			check: func(t *testing.T, c lineage.Config) {
				require.Equal(t, "/tmp/ol.jsonl", c.Transport.LogFilePath)
				require.False(t, c.Transport.Append)
			}},
		{name: "working dir beats home", env: cfgEnv{cwdYAML: "transport:\n  type: console\n", homeYML: httpYAML}, wantType: "console"},
		{name: "OPENLINEAGE_CONFIG beats working dir", env: cfgEnv{cwdYAML: "transport:\n  type: console\n", cfgYAML: httpYAML}, wantType: "http", wantSource: "custom.yml"},
		{name: "yaml without transport falls through to variables", env: cfgEnv{cwdYAML: "facets:\n  x: 1\n", vars: legacy}, wantType: "http", wantURL: "http://legacy:5000"},
		{name: "a JSON value is not refined by deeper variables (as in the Python client)", env: cfgEnv{vars: map[string]string{
			"OPENLINEAGE__TRANSPORT":           `{"type":"http","url":"http://json:1","endpoint":"a/b"}`,
			"OPENLINEAGE__TRANSPORT__ENDPOINT": "c/d",
			"OPENLINEAGE__TRANSPORT__TIMEOUT":  "3",
		}}, wantType: "http", wantURL: "http://json:1",
			check: func(t *testing.T, c lineage.Config) {
				require.Equal(t, "a/b", c.Transport.Endpoint)
				require.Zero(t, c.Transport.Timeout)
			}},
		{name: "composite list from yaml", env: cfgEnv{cwdYAML: `
transport:
  type: composite
  continue_on_failure: true
  transports:
    - type: console
    - type: http
      url: http://a:1
      verify: false
    - type: file
      log_file_location: ev.jsonl
`}, wantType: "composite",
			check: func(t *testing.T, c lineage.Config) {
				require.Len(t, c.Transport.Transports, 3)
				require.True(t, c.Transport.Transports[1].InsecureSkipVerify)
				require.False(t, c.Transport.Transports[2].Append, "append defaults to false, as in the Python client")
			}},
		{name: "composite map from variables", env: cfgEnv{vars: map[string]string{
			"OPENLINEAGE__TRANSPORT__TYPE":                       "composite",
			"OPENLINEAGE__TRANSPORT__TRANSPORTS__FIRST__TYPE":    "http",
			"OPENLINEAGE__TRANSPORT__TRANSPORTS__FIRST__URL":     "http://first:1",
			"OPENLINEAGE__TRANSPORT__TRANSPORTS__FIRST__HEADERS": `{"X-A":"1"}`,
			"OPENLINEAGE__TRANSPORT__TRANSPORTS__SECOND__TYPE":   "console",
		}}, wantType: "composite",
			check: func(t *testing.T, c lineage.Config) {
				// The Python client applies variables in reverse sorted order,
				// so SECOND comes before FIRST.
				require.Len(t, c.Transport.Transports, 2)
				require.Equal(t, "second", c.Transport.Transports[0].Name)
				require.Equal(t, "first", c.Transport.Transports[1].Name)
				require.Equal(t, "http://first:1", c.Transport.Transports[1].URL)
				require.Equal(t, map[string]string{"X-A": "1"}, c.Transport.Transports[1].CustomHeaders)
			}},
		{name: "disabled", env: cfgEnv{vars: merge(legacy, map[string]string{"OPENLINEAGE_DISABLED": "true"})}, wantType: "none",
			check: func(t *testing.T, c lineage.Config) { require.True(t, c.Disabled) }},
		{name: "flag beats disabled", env: cfgEnv{vars: merge(legacy, map[string]string{"OPENLINEAGE_DISABLED": "TRUE"})}, ov: lineage.Overrides{Transport: "http"}, wantType: "http", wantURL: "http://legacy:5000", wantSource: "flags"},
		{name: "flag none", env: cfgEnv{cwdYAML: httpYAML}, ov: lineage.Overrides{Transport: "none"}, wantType: "none"},
		{name: "url flag switches console to http", ov: lineage.Overrides{URL: "http://flag:1", APIKey: secretKey, Timeout: time.Second, Compression: "gzip"}, wantType: "http", wantURL: "http://flag:1", wantSource: "flags",
			check: func(t *testing.T, c lineage.Config) {
				require.Equal(t, secretKey, c.Transport.APIKey.Reveal())
				require.Equal(t, time.Second, c.Transport.Timeout)
				require.Equal(t, "gzip", c.Transport.Compression)
			}},
		{name: "flags refine yaml http", env: cfgEnv{cwdYAML: httpYAML}, ov: lineage.Overrides{URL: "http://flag:2", Endpoint: "x/y"}, wantType: "http", wantURL: "http://flag:2",
			check: func(t *testing.T, c lineage.Config) {
				require.Equal(t, "x/y", c.Transport.Endpoint)
				require.Equal(t, secretKey, c.Transport.APIKey.Reveal(), "key from yaml kept")
				require.Equal(t, "gzip", c.Transport.Compression)
			}},
		{name: "endpoint flag alone keeps the source", env: cfgEnv{vars: legacy}, ov: lineage.Overrides{Endpoint: "e"}, wantType: "http", wantSource: "OPENLINEAGE_URL",
			check: func(t *testing.T, c lineage.Config) { require.Equal(t, "e", c.Transport.Endpoint) }},
		{name: "file flag", ov: lineage.Overrides{File: "out/ev.jsonl"}, wantType: "file",
			check: func(t *testing.T, c lineage.Config) { require.Equal(t, "out/ev.jsonl", c.Transport.LogFilePath) }},
		{name: "file type flag has a default location", ov: lineage.Overrides{Transport: "FILE"}, wantType: "file",
			check: func(t *testing.T, c lineage.Config) {
				require.Equal(t, lineage.DefaultEventsFile, c.Transport.LogFilePath)
			}},
		{name: "console flag beats yaml", env: cfgEnv{cwdYAML: httpYAML}, ov: lineage.Overrides{Transport: "console"}, wantType: "console"},
		{name: "namespace from env", env: cfgEnv{vars: map[string]string{"OPENLINEAGE_NAMESPACE": "prod"}}, wantType: "console",
			check: func(t *testing.T, c lineage.Config) { require.Equal(t, "prod", c.Namespace) }},
		{name: "namespace flag beats env", env: cfgEnv{vars: map[string]string{"OPENLINEAGE_NAMESPACE": "prod"}}, ov: lineage.Overrides{Namespace: "dev"}, wantType: "console",
			check: func(t *testing.T, c lineage.Config) { require.Equal(t, "dev", c.Namespace) }},
		{name: "duration strings and api_key spelling", env: cfgEnv{cwdYAML: "transport:\n  type: http\n  url: https://x\n  timeout: 1500ms\n  auth:\n    api_key: 12345\n"}, wantType: "http",
			check: func(t *testing.T, c lineage.Config) {
				require.Equal(t, 1500*time.Millisecond, c.Transport.Timeout)
				require.Equal(t, "12345", c.Transport.APIKey.Reveal())
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadWith(t, tc.env, tc.ov)
			require.NoError(t, err)
			require.Equal(t, tc.wantType, c.Transport.Type)
			if tc.wantURL != "" {
				require.Equal(t, tc.wantURL, c.Transport.URL)
			}
			if tc.wantSource != "" {
				require.Contains(t, c.Source, tc.wantSource)
			}
			if c.Transport.Type != "none" {
				require.NotEmpty(t, c.Source)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
			tr, err := c.NewTransport(&bytes.Buffer{})
			require.NoError(t, err)
			require.NotNil(t, tr)
			assertNoSecret(t, c, tr)
		})
	}
}

// assertNoSecret prints c and tr every way a log line or message might.
func assertNoSecret(t *testing.T, c lineage.Config, tr lineage.Transport) {
	t.Helper()
	j, err := json.Marshal(c)
	require.NoError(t, err)
	for _, s := range []string{
		c.String(), c.Transport.String(), tr.String(),
		fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%s|%q|%x|%d", c.Transport.APIKey, c.Transport.APIKey, c.Transport.APIKey, c.Transport.APIKey),
		string(j),
	} {
		require.NotContains(t, s, secretKey)
	}
}

// TestConfigProblemsNeverStopTheRun: a configuration salesdag cannot use
// is a warning; the transport then refuses every event for good, so the
// events go to the outbox. Only contradictory flags are errors.
func TestConfigProblemsNeverStopTheRun(t *testing.T) {
	const http = "transport:\n  type: http\n  url: http://x\n"
	cases := []struct {
		name string
		env  cfgEnv
		want string // in the warnings
		held bool   // events are kept rather than sent
	}{
		{name: "missing OPENLINEAGE_CONFIG file", env: cfgEnv{vars: map[string]string{"OPENLINEAGE_CONFIG": "/nonexistent/ol.yml"}}, want: "OPENLINEAGE_CONFIG=/nonexistent/ol.yml is not a readable file"},
		{name: "yaml syntax", env: cfgEnv{cwdYAML: "transport: [\n"}, want: "not valid YAML", held: true},
		{name: "yaml not a mapping", env: cfgEnv{cwdYAML: "- a\n"}, want: "must be a mapping", held: true},
		{name: "transport not a mapping", env: cfgEnv{cwdYAML: "transport: http\n"}, want: "must be a mapping", held: true},
		{name: "type missing", env: cfgEnv{cwdYAML: "transport:\n  url: http://x\n"}, want: "transport has no type"},
		{name: "unknown type", env: cfgEnv{cwdYAML: "transport:\n  type: kafka\n  topic: t\n"}, want: `salesdag has no "kafka" transport`, held: true},
		{name: "http without url", env: cfgEnv{cwdYAML: "transport:\n  type: http\n"}, want: "needs a url", held: true},
		{name: "http bad url keeps the key out", env: cfgEnv{cwdYAML: "transport:\n  type: http\n  url: ftp://user:" + secretKey + "@host\n  auth:\n    apiKey: " + secretKey + "\n"}, want: "not an http(s) URL", held: true},
		{name: "bad compression", env: cfgEnv{cwdYAML: http + "  compression: brotli\n"}, want: "compression", held: true},
		{name: "bad timeout", env: cfgEnv{cwdYAML: http + "  timeout: soon\n"}, want: "line 4: timeout must be seconds", held: true},
		{name: "negative timeout", env: cfgEnv{cwdYAML: http + "  timeout: -1\n"}, want: "between", held: true},
		{name: "timeout of wrong kind", env: cfgEnv{cwdYAML: http + "  timeout: [1]\n"}, want: "timeout", held: true},
		{name: "auth type", env: cfgEnv{cwdYAML: http + "  auth:\n    type: basic\n    apiKey: " + secretKey + "\n"}, want: `auth type "basic" is not supported`, held: true},
		{name: "jwt auth", env: cfgEnv{cwdYAML: http + "  auth:\n    type: jwt\n    apiKey: " + secretKey + "\n    tokenEndpoint: https://auth.example.com/token\n"}, want: `auth type "jwt" is not supported`, held: true},
		{name: "api_key auth without a key", env: cfgEnv{cwdYAML: http + "  auth:\n    type: api_key\n"}, want: "auth needs an apiKey", held: true},
		{name: "auth not a mapping", env: cfgEnv{cwdYAML: http + "  auth: " + secretKey + "\n"}, want: "auth must be a mapping", held: true},
		{name: "headers not a mapping", env: cfgEnv{cwdYAML: http + "  custom_headers: [a]\n"}, want: "line 4", held: true},
		{name: "verify not a bool", env: cfgEnv{cwdYAML: http + "  verify: maybe\n"}, want: "true or false", held: true},
		{name: "url not a scalar", env: cfgEnv{cwdYAML: "transport:\n  type: http\n  url: {a: 1}\n"}, want: "single value", held: true},
		{name: "file without location", env: cfgEnv{cwdYAML: "transport:\n  type: file\n"}, want: "needs log_file_path", held: true},
		{name: "file on a remote file system", env: cfgEnv{cwdYAML: "transport:\n  type: file\n  log_file_path: s3://bucket/ev.jsonl\n"}, want: "remote file system", held: true},
		{name: "composite without transports", env: cfgEnv{cwdYAML: "transport:\n  type: composite\n"}, want: "a composite needs transports", held: true},
		{name: "composite empty", env: cfgEnv{cwdYAML: "transport:\n  type: composite\n  transports: []\n"}, want: "at least one transport", held: true},
		{name: "composite of scalars", env: cfgEnv{cwdYAML: "transport:\n  type: composite\n  transports: [console]\n"}, want: "transport.transports[0]: must be a mapping", held: true},
		{name: "composite map of scalars", env: cfgEnv{cwdYAML: "transport:\n  type: composite\n  transports: {a: console}\n"}, want: "transport.transports.a: must be a mapping", held: true},
		{name: "composite wrong kind", env: cfgEnv{cwdYAML: "transport:\n  type: composite\n  transports: 3\n"}, want: "list or a mapping", held: true},
		{name: "composite bad member", env: cfgEnv{cwdYAML: "transport:\n  type: composite\n  transports:\n    - type: http\n"}, want: "needs a url", held: true},
		{name: "composite member type", env: cfgEnv{cwdYAML: "transport:\n  type: composite\n  transports:\n    - type: nope\n"}, want: `no "nope" transport`, held: true},
		{name: "env transport not an object", env: cfgEnv{vars: map[string]string{"OPENLINEAGE__TRANSPORT": "http"}}, want: "must be a mapping", held: true},
		{name: "legacy bad url with key", env: cfgEnv{vars: map[string]string{"OPENLINEAGE_URL": "localhost:5000", "OPENLINEAGE_API_KEY": secretKey}}, want: "not an http(s) URL", held: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadWith(t, tc.env, lineage.Overrides{})
			require.NoError(t, err)
			warnings := strings.Join(c.Warnings, "\n")
			require.NotContains(t, warnings, secretKey)
			tr, err := c.NewTransport(&bytes.Buffer{})
			require.NoError(t, err)
			assertNoSecret(t, c, tr)
			err = tr.Send(context.Background(), []byte(`{}`))
			if !tc.held {
				require.Contains(t, warnings, tc.want)
				require.NoError(t, err)
				return
			}
			// The reason is said once, by the delivery report.
			var de *lineage.DeliveryError
			require.ErrorAs(t, err, &de)
			require.Contains(t, warnings+"\n"+de.Error(), tc.want)
			require.NotContains(t, de.Error(), secretKey)
			require.False(t, de.Retryable, "refused for good, so it goes to the outbox at once")
		})
	}
}

func TestConfigFlagErrors(t *testing.T) {
	cases := []struct {
		name string
		env  cfgEnv
		ov   lineage.Overrides
		want string
	}{
		{name: "bad flag type", ov: lineage.Overrides{Transport: "kafka"}, want: "given by flag"},
		{name: "http flag without url", ov: lineage.Overrides{Transport: "http", APIKey: secretKey}, want: "needs a url"},
		{name: "bad url flag", env: cfgEnv{vars: map[string]string{"OPENLINEAGE_API_KEY": secretKey}}, ov: lineage.Overrides{URL: "localhost:5000"}, want: "not an http(s) URL"},
		{name: "bad compression flag", env: cfgEnv{vars: map[string]string{"OPENLINEAGE_URL": "http://x"}}, ov: lineage.Overrides{Compression: "brotli"}, want: "compression"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadWith(t, tc.env, tc.ov)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			require.NotContains(t, err.Error(), secretKey)
		})
	}
}

func TestConfigWarnsOnUnknownKeys(t *testing.T) {
	c, err := loadWith(t, cfgEnv{cwdYAML: "transport:\n  type: http\n  url: http://x\n  verfy: false\n  auth:\n    apiKey: k\n    extra: 1\n"}, lineage.Overrides{})
	require.NoError(t, err)
	require.Len(t, c.Warnings, 2)
	require.Contains(t, strings.Join(c.Warnings, "\n"), "transport.verfy")
	require.Contains(t, strings.Join(c.Warnings, "\n"), "transport.auth.extra")
}

func TestConfigWarnsOnUnknownKeysOfMembersAndSections(t *testing.T) {
	c, err := loadWith(t, cfgEnv{cwdYAML: `
transport:
  type: composite
  transports:
    auth:
      type: http
      url: http://x
      Custom-Headers: {X-A: "1"}
      colour: blue
    kafka:
      type: kafka
      topic: t
facets:
  environment_variables: []
  disabld: [x]
tags:
  job: {a: b}
  jobs: {c: d}
filters:
  - type: exact
    match: a
    regexp: b
`}, lineage.Overrides{})
	require.NoError(t, err)
	require.Equal(t, []string{
		"lineage config: transport.transports.auth.colour is not a known setting; ignored",
		"lineage config: facets.disabld is not a known setting; ignored",
		"lineage config: tags.jobs is not a known setting; ignored",
		"lineage config: filters[0].regexp is not a known setting; ignored",
	}, c.Warnings, "a member named auth is a transport; the keys of a type salesdag does not ship are not judged")
	require.Equal(t, map[string]string{"X-A": "1"}, c.Transport.Transports[0].CustomHeaders, "Custom-Headers is custom_headers")
}

func TestConfigFromProcessEnvironment(t *testing.T) {
	t.Setenv("OPENLINEAGE_CONFIG", "")
	t.Setenv("OPENLINEAGE_URL", "http://proc:5000")
	t.Setenv("OPENLINEAGE_API_KEY", secretKey)
	t.Chdir(t.TempDir())
	t.Setenv("HOME", t.TempDir())
	c, err := lineage.LoadConfig(lineage.LoadOptions{})
	require.NoError(t, err)
	require.Equal(t, "http", c.Transport.Type)
	require.Equal(t, "http://proc:5000", c.Transport.URL)
	require.Contains(t, c.String(), "api key set")
	require.NotContains(t, c.String(), secretKey)
}

func TestNewTransportKinds(t *testing.T) {
	var console bytes.Buffer
	c := lineage.Config{Transport: lineage.TransportConfig{Type: "composite", Transports: []lineage.TransportConfig{
		{Type: "console"}, {Type: "file", LogFilePath: filepath.Join(t.TempDir(), "a", "ev.jsonl"), Append: true}, {Type: "none"},
		{Type: "http", URL: "http://127.0.0.1:1", APIKey: secretKey, CustomHeaders: map[string]string{"X-Token": "hidden-value"}},
	}}}
	tr, err := c.NewTransport(&console)
	require.NoError(t, err)
	comp, ok := tr.(*lineage.CompositeTransport)
	require.True(t, ok)
	require.Len(t, comp.Members(), 4)
	require.Contains(t, tr.String(), "console")
	s := c.String() + tr.String()
	require.NotContains(t, s, secretKey)
	require.NotContains(t, s, "hidden-value")
	require.Contains(t, c.String(), "X-Token")

	c.Disabled = true
	tr, err = c.NewTransport(&console)
	require.NoError(t, err)
	require.Equal(t, "none", tr.String())
	require.Contains(t, c.String(), "OPENLINEAGE_DISABLED")

	_, err = lineage.Config{Transport: lineage.TransportConfig{Type: "composite", Transports: []lineage.TransportConfig{{Type: "http", URL: "bad"}}}}.NewTransport(nil)
	require.Error(t, err)
	_, err = lineage.Config{Transport: lineage.TransportConfig{Type: "weird"}}.NewTransport(nil)
	require.Error(t, err)
	tr, err = lineage.Config{Transport: lineage.TransportConfig{Type: "console"}}.NewTransport(nil)
	require.NoError(t, err)
	require.Equal(t, "console", tr.String())
	require.Equal(t, "none", lineage.TransportConfig{}.String())
	require.Equal(t, "console", lineage.TransportConfig{Type: "console"}.String())
}

func TestSecretFormatting(t *testing.T) {
	s := lineage.Secret(secretKey)
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%s %v %q %x %X %d %#v", s, s, s, s, s, s, s), s.String(), s.GoString()} {
		require.NotContains(t, out, secretKey)
	}
	require.Equal(t, `"***"`, fmt.Sprintf("%q", s))
	b, err := json.Marshal(map[string]lineage.Secret{"k": s})
	require.NoError(t, err)
	require.JSONEq(t, `{"k":"***"}`, string(b))
	require.Equal(t, "", lineage.Secret("").String())
}
