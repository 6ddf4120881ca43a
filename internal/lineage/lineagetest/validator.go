// Package lineagetest checks OpenLineage events against the official
// 2-0-2 schemas kept in the repository (testdata/openlineage-spec), with
// format assertions on and every facet checked against its own facet
// schema. Any package's tests can use it; it never reaches the network.
package lineagetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// CoreID is the $id of the core schema.
const CoreID = "https://openlineage.io/spec/2-0-2/OpenLineage.json"

// Location is where a facet sits in an event.
type Location string

// Facet locations.
const (
	RunFacet     Location = "run"
	JobFacet     Location = "job"
	DatasetFacet Location = "dataset" // facets of an input or output dataset
	InputFacet   Location = "input"   // inputFacets of an input dataset
	OutputFacet  Location = "output"  // outputFacets of an output dataset
)

// baseDef is the definition a facet without its own schema (a custom
// facet) must satisfy at each location.
var baseDef = map[Location]string{
	RunFacet:     "RunFacet",
	JobFacet:     "JobFacet",
	DatasetFacet: "DatasetFacet",
	InputFacet:   "InputDatasetFacet",
	OutputFacet:  "OutputDatasetFacet",
}

// FacetFiles maps each location and facet key to the schema file that
// defines it (from SOURCE.txt). Keys are shared between locations
// (dataQualityMetrics, documentation, ownership, tags), so the location
// decides.
var FacetFiles = map[Location]map[string]string{
	RunFacet: {
		"environmentVariables": "EnvironmentVariablesRunFacet.json",
		"errorMessage":         "ErrorMessageRunFacet.json",
		"executionParameters":  "ExecutionParametersRunFacet.json",
		"externalQuery":        "ExternalQueryRunFacet.json",
		"extractionError":      "ExtractionErrorRunFacet.json",
		"jobDependencies":      "JobDependenciesRunFacet.json",
		"nominalTime":          "NominalTimeRunFacet.json",
		"parent":               "ParentRunFacet.json",
		"processing_engine":    "ProcessingEngineRunFacet.json",
		"tags":                 "TagsRunFacet.json",
		"test":                 "TestRunFacet.json",
	},
	JobFacet: {
		"documentation":      "DocumentationJobFacet.json",
		"jobType":            "JobTypeJobFacet.json",
		"lineage":            "LineageFacet.json",
		"ownership":          "OwnershipJobFacet.json",
		"sourceCode":         "SourceCodeJobFacet.json",
		"sourceCodeLocation": "SourceCodeLocationJobFacet.json",
		"sql":                "SQLJobFacet.json",
		"tags":               "TagsJobFacet.json",
	},
	DatasetFacet: {
		"catalog":              "CatalogDatasetFacet.json",
		"columnLineage":        "ColumnLineageDatasetFacet.json",
		"dataQualityMetrics":   "DataQualityMetricsDatasetFacet.json",
		"dataSource":           "DatasourceDatasetFacet.json",
		"datasetType":          "DatasetTypeDatasetFacet.json",
		"documentation":        "DocumentationDatasetFacet.json",
		"hierarchy":            "HierarchyDatasetFacet.json",
		"lifecycleStateChange": "LifecycleStateChangeDatasetFacet.json",
		"lineage":              "LineageFacet.json",
		"ownership":            "OwnershipDatasetFacet.json",
		"schema":               "SchemaDatasetFacet.json",
		"storage":              "StorageDatasetFacet.json",
		"symlinks":             "SymlinksDatasetFacet.json",
		"tags":                 "TagsDatasetFacet.json",
		"version":              "DatasetVersionDatasetFacet.json",
	},
	InputFacet: {
		"dataQualityAssertions": "DataQualityAssertionsDatasetFacet.json",
		"dataQualityMetrics":    "DataQualityMetricsInputDatasetFacet.json",
		"inputStatistics":       "InputStatisticsInputDatasetFacet.json",
		"subset":                "BaseSubsetDatasetFacet.json",
	},
	OutputFacet: {
		"outputStatistics": "OutputStatisticsOutputDatasetFacet.json",
		"subset":           "BaseSubsetDatasetFacet.json",
	},
}

// SpecDir returns the repository's testdata/openlineage-spec directory,
// found from this file's location so that tests work from any package.
func SpecDir() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("lineagetest: cannot locate the source file to find testdata")
	}
	dir := filepath.Dir(file)
	for {
		cand := filepath.Join(dir, "testdata", "openlineage-spec")
		if st, err := os.Stat(filepath.Join(cand, "OpenLineage.json")); err == nil && !st.IsDir() {
			return cand, nil
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return "", fmt.Errorf("lineagetest: %s has no testdata/openlineage-spec/OpenLineage.json", dir)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("lineagetest: testdata/openlineage-spec not found above " + filepath.Dir(file))
		}
		dir = parent
	}
}

// Validator validates events. It is safe for concurrent use.
type Validator struct {
	event *jsonschema.Schema
	base  map[Location]*jsonschema.Schema
	files map[string]*jsonschema.Schema // file name -> schema of its root ({key: facet})
	ids   map[string]string             // file name -> $id
	// custom are salesdag's own facet schemas (docs/facets), by $id.
	custom map[string]*jsonschema.Schema
}

var (
	shared     *Validator
	sharedErr  error
	sharedOnce sync.Once
)

// New returns a validator for the schemas in SpecDir, compiled once per
// process.
func New() (*Validator, error) {
	sharedOnce.Do(func() {
		dir, err := SpecDir()
		if err != nil {
			sharedErr = err
			return
		}
		shared, sharedErr = NewFromDir(dir)
	})
	return shared, sharedErr
}

// CustomPrefix starts the key of every salesdag custom facet; each must
// have its schema among the repository's docs/facets/<version>/*.json.
const CustomPrefix = "salesdag_"

// NewFromDir compiles the schemas in dir and salesdag's custom facet
// schemas in dir/../../docs/facets/*/ (when dir is the repository's
// testdata/openlineage-spec).
func NewFromDir(dir string) (*Validator, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("lineagetest: read %s: %w", dir, err)
	}
	custom, err := filepath.Glob(filepath.Join(dir, "..", "..", "docs", "facets", "*", "*.json"))
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, e := range ents {
		paths = append(paths, filepath.Join(dir, e.Name()))
	}
	paths = append(paths, custom...)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	// Every $ref resolves to a file added here; nothing is fetched.
	c.UseLoader(refuseLoader{})
	v := &Validator{files: map[string]*jsonschema.Schema{}, ids: map[string]string{}, base: map[Location]*jsonschema.Schema{}, custom: map[string]*jsonschema.Schema{}}
	for i, p := range paths {
		name := filepath.Base(p)
		if !strings.HasSuffix(name, ".json") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("lineagetest: %w", err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("lineagetest: %s: %w", name, err)
		}
		m, _ := doc.(map[string]any)
		id, _ := m["$id"].(string)
		if id == "" {
			return nil, fmt.Errorf("lineagetest: %s has no $id", name)
		}
		if err := c.AddResource(id, doc); err != nil {
			return nil, fmt.Errorf("lineagetest: %s: %w", name, err)
		}
		if i >= len(ents) {
			v.custom[id] = nil
			continue
		}
		v.ids[name] = id
	}
	for id := range v.custom {
		if v.custom[id], err = c.Compile(id); err != nil {
			return nil, fmt.Errorf("lineagetest: compile %s: %w", id, err)
		}
	}
	if v.ids["OpenLineage.json"] != CoreID {
		return nil, fmt.Errorf("lineagetest: %s/OpenLineage.json is not %s", dir, CoreID)
	}
	if v.event, err = c.Compile(CoreID + "#/$defs/RunEvent"); err != nil {
		return nil, fmt.Errorf("lineagetest: compile RunEvent: %w", err)
	}
	for loc, def := range baseDef {
		if v.base[loc], err = c.Compile(CoreID + "#/$defs/" + def); err != nil {
			return nil, fmt.Errorf("lineagetest: compile %s: %w", def, err)
		}
	}
	for name, id := range v.ids {
		if name == "OpenLineage.json" {
			continue
		}
		if v.files[name], err = c.Compile(id); err != nil {
			return nil, fmt.Errorf("lineagetest: compile %s: %w", name, err)
		}
	}
	return v, nil
}

type refuseLoader struct{}

func (refuseLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("lineagetest: %s is not among the local schema files (no network access)", url)
}

// SchemaFiles lists the facet schema files the validator loaded.
func (v *Validator) SchemaFiles() []string {
	out := make([]string, 0, len(v.files))
	for n := range v.files {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ValidateEvent checks one encoded RunEvent: the event against
// OpenLineage.json#/$defs/RunEvent, its schemaURL, and every run, job,
// dataset, input and output facet against its own schema. All problems
// are reported together.
func (v *Validator) ValidateEvent(data []byte) error {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("event is not JSON: %w", err)
	}
	var errs []error
	if err := v.event.Validate(doc); err != nil {
		errs = append(errs, fmt.Errorf("RunEvent: %w", err))
	}
	ev, _ := doc.(map[string]any)
	if ev == nil {
		return errors.Join(append(errs, errors.New("event is not a JSON object"))...)
	}
	if s, _ := ev["schemaURL"].(string); s != CoreID+"#/$defs/RunEvent" {
		errs = append(errs, fmt.Errorf("schemaURL is %q, want %s#/$defs/RunEvent", s, CoreID))
	}
	check := func(where string, loc Location, facets any) {
		m, _ := facets.(map[string]any)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := v.validateFacet(loc, k, m[k]); err != nil {
				errs = append(errs, fmt.Errorf("%s facet %q: %w", where, k, err))
			}
		}
	}
	if run, ok := ev["run"].(map[string]any); ok {
		check("run", RunFacet, run["facets"])
	}
	if job, ok := ev["job"].(map[string]any); ok {
		check("job", JobFacet, job["facets"])
	}
	for i, d := range asList(ev["inputs"]) {
		check(fmt.Sprintf("inputs[%d]", i), DatasetFacet, d["facets"])
		check(fmt.Sprintf("inputs[%d] input", i), InputFacet, d["inputFacets"])
	}
	for i, d := range asList(ev["outputs"]) {
		check(fmt.Sprintf("outputs[%d]", i), DatasetFacet, d["facets"])
		check(fmt.Sprintf("outputs[%d] output", i), OutputFacet, d["outputFacets"])
	}
	return errors.Join(errs...)
}

// ValidateFacet checks one facet value (any JSON-marshallable value) as
// found under key at loc.
func (v *Validator) ValidateFacet(loc Location, key string, facet any) error {
	b, err := json.Marshal(facet)
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	return v.validateFacet(loc, key, doc)
}

func (v *Validator) validateFacet(loc Location, key string, facet any) error {
	base, ok := v.base[loc]
	if !ok {
		return fmt.Errorf("unknown facet location %q", loc)
	}
	// Every facet, custom or not, is at least a base facet of its place.
	if err := base.Validate(facet); err != nil {
		return err
	}
	file, ok := FacetFiles[loc][key]
	if !ok {
		for other, files := range FacetFiles {
			if files[key] != "" {
				return fmt.Errorf("the spec defines %q as a facet of %s, not of %s", key, other, loc)
			}
		}
		m, _ := facet.(map[string]any)
		url, _ := m["_schemaURL"].(string)
		id, _, _ := strings.Cut(url, "#")
		sch, known := v.custom[id]
		switch {
		case known:
			// The schema's root is {key: facet}, as in the spec's files.
			return sch.Validate(map[string]any{key: facet})
		case strings.HasPrefix(key, CustomPrefix):
			return fmt.Errorf("salesdag custom facet %q: _schemaURL %q names no schema in docs/facets", key, url)
		}
		return nil // someone else's custom facet: the base definition is all there is
	}
	sch, ok := v.files[file]
	if !ok {
		return fmt.Errorf("schema file %s is missing", file)
	}
	// The file's root schema is {key: $ref facet}: wrapping the facet
	// under its key validates it against exactly that definition.
	if err := sch.Validate(map[string]any{key: facet}); err != nil {
		return err
	}
	if m, ok := facet.(map[string]any); ok {
		if s, _ := m["_schemaURL"].(string); !strings.HasPrefix(s, v.ids[file]+"#") {
			return fmt.Errorf("_schemaURL %q does not point into %s", s, v.ids[file])
		}
	}
	return nil
}

func asList(v any) []map[string]any {
	l, _ := v.([]any)
	out := make([]map[string]any, 0, len(l))
	for _, x := range l {
		m, _ := x.(map[string]any)
		out = append(out, m)
	}
	return out
}

// ValidateLines validates every non-empty line of data as an event and
// returns how many it checked.
func (v *Validator) ValidateLines(data []byte) (int, error) {
	n := 0
	var errs []error
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		n++
		if err := v.ValidateEvent(line); err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", i+1, err))
		}
	}
	return n, errors.Join(errs...)
}

// Validate is the test helper: it fails t (with every problem) unless data
// is a valid event.
func Validate(t testing.TB, data []byte) {
	t.Helper()
	v, err := New()
	if err != nil {
		t.Fatalf("lineagetest: %v", err)
	}
	if err := v.ValidateEvent(data); err != nil {
		t.Errorf("invalid OpenLineage event: %v\nevent: %s", err, data)
	}
}
