package lineage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/salesdag/salesdag/internal/lineage"
	"github.com/salesdag/salesdag/internal/lineage/lineagetest"
)

// describe says what a configured transport does, in the words of
// testdata/python_client_configs.yaml.
func describe(t *testing.T, tc lineage.TransportConfig) string {
	t.Helper()
	if tc.Unusable != "" && tc.Type != lineage.TypeComposite {
		return "held " + tc.Type
	}
	switch tc.Type {
	case lineage.TypeHTTP:
		tr, err := lineage.NewHTTPTransport(lineage.HTTPConfig{URL: tc.URL, Endpoint: tc.Endpoint})
		require.NoError(t, err)
		s := "http POST " + strings.TrimSuffix(strings.TrimPrefix(tr.String(), "http("), ")")
		if tc.APIKey != "" {
			s += " auth"
		}
		if tc.Compression == "gzip" {
			s += " gzip"
		}
		if tc.InsecureSkipVerify {
			s += " insecure"
		}
		return s
	case lineage.TypeFile:
		return "file " + tc.LogFilePath + map[bool]string{true: " append", false: " own-files"}[tc.Append]
	case lineage.TypeNone:
		return "noop"
	case lineage.TypeComposite:
		var ms []string
		for _, m := range tc.Transports {
			ms = append(ms, describe(t, m))
		}
		s := "composite(" + strings.Join(ms, "; ") + ")"
		if tc.StopOnFailure {
			s += " stop-on-failure"
		}
		if tc.StopOnSuccess {
			s += " stop-on-success"
		}
		return s
	}
	return tc.Type
}

type pyCase struct {
	Name   string            `yaml:"name"`
	YAML   string            `yaml:"yaml"`
	Env    map[string]string `yaml:"env"`
	Want   string            `yaml:"want"`
	Warn   string            `yaml:"warn"`
	Python string            `yaml:"python"`
}

// loadPyCase loads c's configuration in a fresh directory, which is the
// working directory and home, and returns the directory.
func loadPyCase(t *testing.T, c pyCase) (lineage.Config, string) {
	t.Helper()
	dir := t.TempDir()
	sub := func(s string) string { return strings.ReplaceAll(s, "${DIR}", dir) }
	if c.YAML != "" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "openlineage.yml"), []byte(sub(c.YAML)), 0o644))
	}
	vars := map[string]string{}
	var environ []string
	for k, v := range c.Env {
		vars[k] = sub(v)
		environ = append(environ, k+"="+sub(v))
	}
	sort.Strings(environ)
	cfg, err := lineage.LoadConfig(lineage.LoadOptions{
		Getenv:  func(k string) string { return vars[k] },
		Environ: func() []string { return environ },
		WorkDir: dir, HomeDir: dir,
	})
	require.NoError(t, err, "a configuration never stops a run")
	return cfg, dir
}

func pyCases(t *testing.T) []pyCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "python_client_configs.yaml"))
	require.NoError(t, err)
	var doc struct {
		Cases []pyCase `yaml:"cases"`
	}
	require.NoError(t, yaml.Unmarshal(b, &doc))
	require.NotEmpty(t, doc.Cases)
	return doc.Cases
}

// TestPythonClientConfigs: the keys and structure of the Python client's
// documented example configurations build the transport the Python client
// builds, or, for what salesdag does not ship, a transport that keeps the
// events in the outbox with one warning.
func TestPythonClientConfigs(t *testing.T) {
	for _, c := range pyCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			cfg, dir := loadPyCase(t, c)
			require.Equal(t, strings.ReplaceAll(c.Want, "${DIR}", dir), describe(t, cfg.Transport))
			tr, err := cfg.NewTransport(&bytes.Buffer{})
			require.NoError(t, err)
			warnings := strings.Join(cfg.Warnings, "\n")
			if strings.Contains(c.Want, "held") {
				// One member or the whole transport refuses the events,
				// saying why, so they stay in the outbox.
				em := lineage.NewEmitter(lineage.EmitterOptions{Transport: tr, OutboxDir: t.TempDir()})
				require.NoError(t, em.EmitJSON(testEvent(t, "job")))
				rep := em.Close(context.Background())
				require.Equal(t, 1, rep.Outboxed)
				require.Contains(t, rep.Warning(), c.Warn)
			} else {
				require.Contains(t, warnings, c.Warn)
				require.NoError(t, tr.Close())
			}
		})
	}
}

// runEvents emits n events of jobs named names through cfg's transport
// and the emitter, as a run does, and returns the delivery report.
func runEvents(t *testing.T, cfg lineage.Config, console *bytes.Buffer, names ...string) lineage.Report {
	t.Helper()
	tr, err := cfg.NewTransport(console)
	require.NoError(t, err)
	em := lineage.NewEmitter(lineage.EmitterOptions{Transport: tr, OutboxDir: filepath.Join(t.TempDir(), "outbox"), Prepare: cfg.Events.Prepare})
	for _, n := range names {
		ev := lineage.NewRunEvent(lineage.EventStart, lineage.Run{RunID: lineage.NewRunID()}, lineage.Job{Namespace: "default", Name: n})
		ev.Run.Facets.ProcessingEngine = lineage.NewProcessingEngineRunFacet("1.0")
		require.NoError(t, em.Emit(ev))
	}
	return em.Close(context.Background())
}

func TestPythonConfigsEndToEnd(t *testing.T) {
	t.Run("file transport without append writes one file per event", func(t *testing.T) {
		cfg, dir := loadPyCase(t, pyCase{YAML: "transport:\n  type: file\n  log_file_path: ${DIR}/events\n"})
		rep := runEvents(t, cfg, nil, "a", "b")
		require.True(t, rep.OK(), rep.Warning())
		files, err := filepath.Glob(filepath.Join(dir, "events-*.json"))
		require.NoError(t, err)
		require.Len(t, files, 2)
	})
	t.Run("log_file_path from a variable in a composite", func(t *testing.T) {
		cfg, dir := loadPyCase(t, pyCase{
			YAML: "transport:\n  type: composite\n  transports:\n    events:\n      type: file\n      append: true\n",
			Env:  map[string]string{"OPENLINEAGE__TRANSPORT__TRANSPORTS__EVENTS__LOG_FILE_PATH": "${DIR}/ev.jsonl"},
		})
		rep := runEvents(t, cfg, nil, "a", "b", "c")
		require.True(t, rep.OK(), rep.Warning())
		require.Equal(t, 3, countLines(t, filepath.Join(dir, "ev.jsonl")))
	})
	t.Run("noop sends nothing", func(t *testing.T) {
		cfg, _ := loadPyCase(t, pyCase{YAML: "transport:\n  type: noop\n"})
		var console bytes.Buffer
		rep := runEvents(t, cfg, &console, "a")
		require.True(t, rep.OK())
		require.Empty(t, console.String())
	})
	t.Run("kafka keeps the events in the outbox", func(t *testing.T) {
		cfg, _ := loadPyCase(t, pyCase{YAML: "transport:\n  type: kafka\n  topic: t\n"})
		rep := runEvents(t, cfg, nil, "a", "b")
		require.Equal(t, 2, rep.Outboxed)
		require.Zero(t, rep.Lost)
	})
	t.Run("an API key in the environment is sent with a yml url with a path", func(t *testing.T) {
		srv := lineagetest.NewServer(t, nil)
		srv.Path = "/api/v1/lineage"
		cfg, _ := loadPyCase(t, pyCase{
			YAML: "transport:\n  type: http\n  url: " + srv.URL + "/prefix\n",
			Env:  map[string]string{"OPENLINEAGE__TRANSPORT__AUTH__TYPE": "api_key", "OPENLINEAGE__TRANSPORT__AUTH__APIKEY": secretKey},
		})
		rep := runEvents(t, cfg, nil, "a")
		require.True(t, rep.OK(), rep.Warning())
		reqs := srv.Requests()
		require.Len(t, reqs, 1)
		require.Equal(t, "/api/v1/lineage", reqs[0].Path)
		require.Equal(t, "Bearer "+secretKey, reqs[0].Header.Get("Authorization"))
	})
	t.Run("OPENLINEAGE_URL joins a composite from variables", func(t *testing.T) {
		srv := lineagetest.NewServer(t, nil)
		cfg, dir := loadPyCase(t, pyCase{Env: map[string]string{
			"OPENLINEAGE_URL":                                          srv.URL,
			"OPENLINEAGE__TRANSPORT__TYPE":                             "composite",
			"OPENLINEAGE__TRANSPORT__TRANSPORTS__LOCAL__TYPE":          "file",
			"OPENLINEAGE__TRANSPORT__TRANSPORTS__LOCAL__LOG_FILE_PATH": "${DIR}/local.jsonl",
			"OPENLINEAGE__TRANSPORT__TRANSPORTS__LOCAL__APPEND":        "true",
		}})
		rep := runEvents(t, cfg, nil, "a", "b")
		require.True(t, rep.OK(), rep.Warning())
		require.Len(t, srv.Events(), 2)
		require.Equal(t, 2, countLines(t, filepath.Join(dir, "local.jsonl")))
	})
	t.Run("continue_on_failure false stops at the failing member", func(t *testing.T) {
		srv := lineagetest.NewServer(t, nil)
		cfg, dir := loadPyCase(t, pyCase{YAML: "transport:\n  type: composite\n  continue_on_failure: false\n  transports:\n" +
			"    - type: http\n      url: " + refusedURL(t) + "\n" +
			"    - type: http\n      url: " + srv.URL + "\n" +
			"    - type: file\n      log_file_path: ${DIR}/after.jsonl\n      append: true\n"})
		tr, err := cfg.NewTransport(nil)
		require.NoError(t, err)
		require.Error(t, tr.Send(context.Background(), testEvent(t, "a")))
		require.Empty(t, srv.Events(), "members after the failing one get nothing")
		require.NoFileExists(t, filepath.Join(dir, "after.jsonl"))
	})
	t.Run("continue_on_success false sends to the first member that takes it", func(t *testing.T) {
		first, second := lineagetest.NewServer(t, nil), lineagetest.NewServer(t, nil)
		cfg, _ := loadPyCase(t, pyCase{YAML: "transport:\n  type: composite\n  continue_on_success: false\n  transports:\n" +
			"    - type: http\n      url: " + refusedURL(t) + "\n" +
			"    - type: http\n      url: " + first.URL + "\n" +
			"    - type: http\n      url: " + second.URL + "\n"})
		rep := runEvents(t, cfg, nil, "a")
		require.True(t, rep.OK(), rep.Warning())
		require.Len(t, first.Events(), 1)
		require.Empty(t, second.Events())
	})
}

// TestEventOptions: filters:, tags: and facets: as the Python client
// applies them, checked on the events a file transport writes.
func TestEventOptions(t *testing.T) {
	cfg, dir := loadPyCase(t, pyCase{
		YAML: `
filters:
  - type: exact
    match: test_job
  - type: regex
    regex: temp_.*
tags:
  job:
    ENVIRONMENT: PRODUCTION
    PIPELINE: sales_monthly
  run:
    adhoc: "true"
facets:
  environment_variables: [SALESDAG_TEST_VAR, SALESDAG_MISSING_VAR]
  source_code_location:
    disabled: false
    repo_url: https://github.com/org/repo
    branch: main
  disabled: [processing_engine]
transport:
  type: file
  log_file_path: ${DIR}/ev.jsonl
  append: true
`,
		Env: map[string]string{"SALESDAG_TEST_VAR": "42", "OPENLINEAGE__TAGS__RUN__TEAM": "sales"},
	})
	require.Contains(t, strings.Join(cfg.Warnings, "\n"), "SALESDAG_MISSING_VAR not set")
	rep := runEvents(t, cfg, nil, "test_job", "temp_x", "x_temp_x", "sales")
	require.True(t, rep.OK(), rep.Warning())
	b, err := os.ReadFile(filepath.Join(dir, "ev.jsonl"))
	require.NoError(t, err)
	v, err := lineagetest.New()
	require.NoError(t, err)
	_, err = v.ValidateLines(b)
	require.NoError(t, err, "the added facets follow the spec")
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 2, "test_job and temp_x are filtered out; re.match anchors only the start")
	var ev struct {
		Run struct {
			Facets map[string]json.RawMessage `json:"facets"`
		} `json:"run"`
		Job struct {
			Name   string                     `json:"name"`
			Facets map[string]json.RawMessage `json:"facets"`
		} `json:"job"`
	}
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &ev))
	require.Equal(t, "x_temp_x", ev.Job.Name)
	require.JSONEq(t, `[{"key":"ENVIRONMENT","value":"PRODUCTION","source":"USER"},{"key":"PIPELINE","value":"sales_monthly","source":"USER"}]`, field(t, ev.Job.Facets["tags"], "tags"))
	require.JSONEq(t, `[{"key":"team","value":"sales","source":"USER"},{"key":"adhoc","value":"true","source":"USER"}]`, field(t, ev.Run.Facets["tags"], "tags"))
	require.JSONEq(t, `[{"name":"SALESDAG_TEST_VAR","value":"42"}]`, field(t, ev.Run.Facets["environmentVariables"], "environmentVariables"))
	require.JSONEq(t, `"https://github.com/org/repo"`, field(t, ev.Job.Facets["sourceCodeLocation"], "repoUrl"))
	require.JSONEq(t, `"main"`, field(t, ev.Job.Facets["sourceCodeLocation"], "branch"))
	require.NotContains(t, ev.Run.Facets, "processing_engine")
}

func field(t *testing.T, facet json.RawMessage, key string) string {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(facet, &m))
	require.Contains(t, m, key)
	return string(m[key])
}

// countingTransport counts events and fails while fail > 0.
type countingTransport struct {
	name string
	got  int
	fail int
}

func (c *countingTransport) Send(context.Context, []byte) error {
	if c.fail > 0 {
		c.fail--
		return &lineage.DeliveryError{Transport: c.name, Retryable: true, Detail: "down"}
	}
	c.got++
	return nil
}
func (c *countingTransport) Close() error   { return nil }
func (c *countingTransport) String() string { return c.name }

// TestSequentialTransportResumes: with continue_on_failure false, a retry
// of the same event goes on from the member that failed, so the members
// before it do not get the event twice.
func TestSequentialTransportResumes(t *testing.T) {
	a, b, c := &countingTransport{name: "a"}, &countingTransport{name: "b", fail: 1}, &countingTransport{name: "c"}
	s := lineage.NewSequentialTransport([]lineage.Transport{a, b, c}, false, true)
	ev := testEvent(t, "job")
	err := s.Send(context.Background(), ev)
	var de *lineage.DeliveryError
	require.ErrorAs(t, err, &de)
	require.True(t, de.Retryable)
	require.Equal(t, []int{1, 0, 0}, []int{a.got, b.got, c.got})
	require.NoError(t, s.Send(context.Background(), ev))
	require.Equal(t, []int{1, 1, 1}, []int{a.got, b.got, c.got})
	require.NoError(t, s.Send(context.Background(), testEvent(t, "next")))
	require.Equal(t, []int{2, 2, 2}, []int{a.got, b.got, c.got})

	// continue_on_success false: the first member that takes the event ends it.
	a, b = &countingTransport{name: "a", fail: 1}, &countingTransport{name: "b"}
	s = lineage.NewSequentialTransport([]lineage.Transport{a, b}, true, false)
	require.NoError(t, s.Send(context.Background(), ev))
	require.NoError(t, s.Send(context.Background(), ev))
	require.Equal(t, []int{1, 1}, []int{a.got, b.got})
	// Every member failing is a failure.
	a, b = &countingTransport{name: "a", fail: 1}, &countingTransport{name: "b", fail: 1}
	require.Error(t, lineage.NewSequentialTransport([]lineage.Transport{a, b}, true, false).Send(context.Background(), ev))
}
