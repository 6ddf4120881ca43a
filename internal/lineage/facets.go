package lineage

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
)

// Schema URLs of the facets salesdag writes: each facet file's $id plus the
// pointer to the facet's definition, as published for OpenLineage 2-0-2.
const (
	ParentRunFacetSchemaURL            = "https://openlineage.io/spec/facets/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet"
	ProcessingEngineRunFacetSchemaURL  = "https://openlineage.io/spec/facets/1-1-1/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet"
	ErrorMessageRunFacetSchemaURL      = "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet"
	NominalTimeRunFacetSchemaURL       = "https://openlineage.io/spec/facets/1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet"
	JobTypeJobFacetSchemaURL           = "https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"
	DocumentationJobFacetSchemaURL     = "https://openlineage.io/spec/facets/1-1-0/DocumentationJobFacet.json#/$defs/DocumentationJobFacet"
	SchemaDatasetFacetSchemaURL        = "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
	DatasourceDatasetFacetSchemaURL    = "https://openlineage.io/spec/facets/1-0-1/DatasourceDatasetFacet.json#/$defs/DatasourceDatasetFacet"
	ColumnLineageDatasetFacetSchemaURL = "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet"
	// DataQualityAssertions is an input dataset facet in the spec, whatever
	// its file name says.
	DataQualityAssertionsSchemaURL       = "https://openlineage.io/spec/facets/1-1-0/DataQualityAssertionsDatasetFacet.json#/$defs/DataQualityAssertionsDatasetFacet"
	InputStatisticsSchemaURL             = "https://openlineage.io/spec/facets/1-0-0/InputStatisticsInputDatasetFacet.json#/$defs/InputStatisticsInputDatasetFacet"
	DataQualityMetricsInputSchemaURL     = "https://openlineage.io/spec/facets/1-0-3/DataQualityMetricsInputDatasetFacet.json#/$defs/DataQualityMetricsInputDatasetFacet"
	OutputStatisticsOutputFacetSchemaURL = "https://openlineage.io/spec/facets/1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet"
	// Custom facet schemas live in the repository under docs/facets/<version>;
	// the URL names the tag of that version, so it never changes.
	customFacetSchemaBase = Producer + "/blob/facets-1-0-0/docs/facets/1-0-0/"
)

// BaseFacet holds the two fields every facet has. Embed it in custom facet
// structs; NewBaseFacet fills it in.
type BaseFacet struct {
	Producer  string `json:"_producer"`
	SchemaURL string `json:"_schemaURL"`
}

// NewBaseFacet returns a BaseFacet produced by salesdag with schemaURL.
func NewBaseFacet(schemaURL string) BaseFacet {
	return BaseFacet{Producer: Producer, SchemaURL: schemaURL}
}

// CustomFacetSchemaURL is the schema URL for a salesdag-specific facet
// called name (for example "SalesdagCacheRunFacet"): its JSON Schema in
// salesdag's own repository (docs/facets), at an immutable version.
func CustomFacetSchemaURL(name string) string {
	return customFacetSchemaBase + name + ".json#/$defs/" + name
}

// ---- run facets ----

// RunFacets are the facets of a run. Typed fields cover the facets salesdag
// writes; Custom takes any other facet by key (a struct embedding
// BaseFacet, a map, or json.RawMessage).
type RunFacets struct {
	Parent           *ParentRunFacet           `facet:"parent"`
	ProcessingEngine *ProcessingEngineRunFacet `facet:"processing_engine"`
	ErrorMessage     *ErrorMessageRunFacet     `facet:"errorMessage"`
	NominalTime      *NominalTimeRunFacet      `facet:"nominalTime"`
	Custom           map[string]any
}

// ParentRunFacet links a run to the run that started it and to the root of
// that chain.
type ParentRunFacet struct {
	BaseFacet
	Run  ParentRun  `json:"run"`
	Job  ParentJob  `json:"job"`
	Root *ParentRef `json:"root,omitempty"`
}

// ParentRun identifies the parent run.
type ParentRun struct {
	RunID string `json:"runId"`
}

// ParentJob identifies the parent job.
type ParentJob struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// ParentRef is the root run and job of a parent chain.
type ParentRef struct {
	Run ParentRun `json:"run"`
	Job ParentJob `json:"job"`
}

// NewParentRunFacet links to parent, with root as the root of the chain
// (the parent itself when root is nil).
func NewParentRunFacet(parent RunRef, root *RunRef) *ParentRunFacet {
	r := parent
	if root != nil {
		r = *root
	}
	return &ParentRunFacet{
		BaseFacet: NewBaseFacet(ParentRunFacetSchemaURL),
		Run:       ParentRun{RunID: parent.RunID.String()},
		Job:       ParentJob{Namespace: parent.Namespace, Name: parent.Name},
		Root: &ParentRef{
			Run: ParentRun{RunID: r.RunID.String()},
			Job: ParentJob{Namespace: r.Namespace, Name: r.Name},
		},
	}
}

// ProcessingEngineRunFacet names the engine that ran the job.
type ProcessingEngineRunFacet struct {
	BaseFacet
	Version                   string `json:"version"`
	Name                      string `json:"name,omitempty"`
	OpenlineageAdapterVersion string `json:"openlineageAdapterVersion,omitempty"`
}

// NewProcessingEngineRunFacet describes salesdag at version (lineage is
// built in, so the adapter version is salesdag's too).
func NewProcessingEngineRunFacet(version string) *ProcessingEngineRunFacet {
	version = cmp.Or(version, "unknown")
	return &ProcessingEngineRunFacet{
		BaseFacet:                 NewBaseFacet(ProcessingEngineRunFacetSchemaURL),
		Version:                   version,
		Name:                      "salesdag",
		OpenlineageAdapterVersion: version,
	}
}

// ErrorMessageRunFacet tells why a run failed.
type ErrorMessageRunFacet struct {
	BaseFacet
	Message             string `json:"message"`
	ProgrammingLanguage string `json:"programmingLanguage"`
	StackTrace          string `json:"stackTrace,omitempty"`
}

// NewErrorMessageRunFacet describes err (nil gives a nil facet). The stack
// trace is the chain of wrapped errors with their types, plus the goroutine
// stack when some error in the chain carries one (a node panic).
func NewErrorMessageRunFacet(err error) *ErrorMessageRunFacet {
	if err == nil {
		return nil
	}
	return &ErrorMessageRunFacet{
		BaseFacet:           NewBaseFacet(ErrorMessageRunFacetSchemaURL),
		Message:             err.Error(),
		ProgrammingLanguage: "go",
		StackTrace:          errorTrace(err),
	}
}

// NominalTimeRunFacet is the scheduled time of a run.
type NominalTimeRunFacet struct {
	BaseFacet
	NominalStartTime string `json:"nominalStartTime"`
	NominalEndTime   string `json:"nominalEndTime,omitempty"`
}

// ---- job facets ----

// JobFacets are the facets of a job.
type JobFacets struct {
	JobType       *JobTypeJobFacet       `facet:"jobType"`
	Documentation *DocumentationJobFacet `facet:"documentation"`
	Custom        map[string]any
}

// JobTypeJobFacet says what kind of job this is.
type JobTypeJobFacet struct {
	BaseFacet
	ProcessingType string `json:"processingType"`
	Integration    string `json:"integration"`
	JobType        string `json:"jobType,omitempty"`
}

// Job types salesdag uses.
const (
	JobTypeDAG  = "DAG"
	JobTypeTask = "TASK"
)

// NewJobTypeJobFacet returns a BATCH job of integration SALESDAG with the
// given job type (JobTypeDAG or JobTypeTask).
func NewJobTypeJobFacet(jobType string) *JobTypeJobFacet {
	return &JobTypeJobFacet{
		BaseFacet:      NewBaseFacet(JobTypeJobFacetSchemaURL),
		ProcessingType: "BATCH",
		Integration:    "SALESDAG",
		JobType:        jobType,
	}
}

// DocumentationJobFacet describes a job in words.
type DocumentationJobFacet struct {
	BaseFacet
	Description string `json:"description"`
	ContentType string `json:"contentType,omitempty"`
}

// NewDocumentationJobFacet returns nil for an empty description.
func NewDocumentationJobFacet(description string) *DocumentationJobFacet {
	if description == "" {
		return nil
	}
	return &DocumentationJobFacet{BaseFacet: NewBaseFacet(DocumentationJobFacetSchemaURL), Description: description}
}

// ---- dataset facets ----

// DatasetFacets are the facets of any dataset, input or output.
type DatasetFacets struct {
	Schema        *SchemaDatasetFacet        `facet:"schema"`
	DataSource    *DatasourceDatasetFacet    `facet:"dataSource"`
	ColumnLineage *ColumnLineageDatasetFacet `facet:"columnLineage"`
	// DataQualityAssertions is an input facet in the spec (use
	// InputDatasetFacets); this slot only reads events that older salesdag
	// versions wrote here.
	DataQualityAssertions *DataQualityAssertionsFacet `facet:"dataQualityAssertions"`
	Custom                map[string]any
}

// SchemaDatasetFacet lists a dataset's fields.
type SchemaDatasetFacet struct {
	BaseFacet
	Fields []SchemaField `json:"fields"`
}

// SchemaField is one field of a schema.
type SchemaField struct {
	Name            string        `json:"name"`
	Type            string        `json:"type,omitempty"`
	Description     string        `json:"description,omitempty"`
	OrdinalPosition int           `json:"ordinal_position,omitempty"`
	Fields          []SchemaField `json:"fields,omitempty"`
}

// DatasourceDatasetFacet names where a dataset lives.
type DatasourceDatasetFacet struct {
	BaseFacet
	Name string `json:"name,omitempty"`
	URI  string `json:"uri,omitempty"`
}

// NewDatasourceDatasetFacet returns a dataSource facet.
func NewDatasourceDatasetFacet(name, uri string) *DatasourceDatasetFacet {
	return &DatasourceDatasetFacet{BaseFacet: NewBaseFacet(DatasourceDatasetFacetSchemaURL), Name: name, URI: uri}
}

// ColumnLineageDatasetFacet maps each output field to the input fields it
// is computed from.
type ColumnLineageDatasetFacet struct {
	BaseFacet
	Fields map[string]ColumnLineageField `json:"fields"`
	// Dataset lists inputs that affect the whole dataset (filters, grouping,
	// sorting).
	Dataset []InputField `json:"dataset,omitempty"`
}

// ColumnLineageField is the lineage of one output field.
type ColumnLineageField struct {
	InputFields []InputField `json:"inputFields"`
}

// InputField is one input field a value depends on.
type InputField struct {
	Namespace       string           `json:"namespace"`
	Name            string           `json:"name"`
	Field           string           `json:"field"`
	Transformations []Transformation `json:"transformations,omitempty"`
}

// Transformation says how an input field reaches an output.
type Transformation struct {
	Type        string `json:"type"`              // DIRECT or INDIRECT
	Subtype     string `json:"subtype,omitempty"` // IDENTITY, TRANSFORMATION, AGGREGATION, FILTER, GROUP_BY, SORT, WINDOW, ...
	Description string `json:"description,omitempty"`
	Masking     bool   `json:"masking,omitempty"`
}

// Transformation types and subtypes of the column lineage facet.
const (
	TransformDirect       = "DIRECT"
	TransformIndirect     = "INDIRECT"
	SubtypeIdentity       = "IDENTITY"
	SubtypeTransformation = "TRANSFORMATION"
	SubtypeAggregation    = "AGGREGATION"
	SubtypeFilter         = "FILTER"
	SubtypeGroupBy        = "GROUP_BY"
	SubtypeSort           = "SORT"
	SubtypeWindow         = "WINDOW"
	SubtypeJoin           = "JOIN"
	SubtypeConditional    = "CONDITIONAL"
)

// NewColumnLineageDatasetFacet returns an empty column lineage facet to
// fill in.
func NewColumnLineageDatasetFacet() *ColumnLineageDatasetFacet {
	return &ColumnLineageDatasetFacet{
		BaseFacet: NewBaseFacet(ColumnLineageDatasetFacetSchemaURL),
		Fields:    map[string]ColumnLineageField{},
	}
}

// ---- input dataset facets ----

// InputDatasetFacets are facets that only make sense for an input.
type InputDatasetFacets struct {
	InputStatistics       *InputStatisticsFacet         `facet:"inputStatistics"`
	DataQualityMetrics    *DataQualityMetricsInputFacet `facet:"dataQualityMetrics"`
	DataQualityAssertions *DataQualityAssertionsFacet   `facet:"dataQualityAssertions"`
	Custom                map[string]any
}

// InputStatisticsFacet says how much of an input was read.
type InputStatisticsFacet struct {
	BaseFacet
	RowCount  *int64 `json:"rowCount,omitempty"`
	Size      *int64 `json:"size,omitempty"`
	FileCount *int64 `json:"fileCount,omitempty"`
}

// NewInputStatisticsFacet returns the statistics of one file read.
func NewInputStatisticsFacet(rows, bytes int64) *InputStatisticsFacet {
	one := int64(1)
	return &InputStatisticsFacet{BaseFacet: NewBaseFacet(InputStatisticsSchemaURL), RowCount: &rows, Size: &bytes, FileCount: &one}
}

// DataQualityMetricsInputFacet holds measured properties of an input.
type DataQualityMetricsInputFacet struct {
	BaseFacet
	RowCount      *int64                   `json:"rowCount,omitempty"`
	Bytes         *int64                   `json:"bytes,omitempty"`
	FileCount     *int64                   `json:"fileCount,omitempty"`
	LastUpdated   string                   `json:"lastUpdated,omitempty"`
	ColumnMetrics map[string]ColumnMetrics `json:"columnMetrics"`
}

// ColumnMetrics are the metrics of one column. Nil fields are left out.
type ColumnMetrics struct {
	NullCount     *int64             `json:"nullCount,omitempty"`
	DistinctCount *int64             `json:"distinctCount,omitempty"`
	Sum           *float64           `json:"sum,omitempty"`
	Count         *float64           `json:"count,omitempty"`
	Min           *float64           `json:"min,omitempty"`
	Max           *float64           `json:"max,omitempty"`
	Quantiles     map[string]float64 `json:"quantiles,omitempty"`
}

// NewDataQualityMetricsInputFacet returns metrics for rows and bytes with
// an empty column map to fill in.
func NewDataQualityMetricsInputFacet(rows, bytes int64) *DataQualityMetricsInputFacet {
	return &DataQualityMetricsInputFacet{
		BaseFacet:     NewBaseFacet(DataQualityMetricsInputSchemaURL),
		RowCount:      &rows,
		Bytes:         &bytes,
		ColumnMetrics: map[string]ColumnMetrics{},
	}
}

// DataQualityAssertionsFacet lists checks run on a dataset and their
// results.
type DataQualityAssertionsFacet struct {
	BaseFacet
	Assertions []Assertion `json:"assertions"`
}

// Assertion is one check and its result.
type Assertion struct {
	Assertion   string         `json:"assertion"`
	Success     bool           `json:"success"`
	Column      string         `json:"column,omitempty"`
	Severity    string         `json:"severity,omitempty"`
	Name        string         `json:"name,omitempty"`
	Description string         `json:"description,omitempty"`
	Expected    string         `json:"expected,omitempty"`
	Actual      string         `json:"actual,omitempty"`
	Content     string         `json:"content,omitempty"`
	ContentType string         `json:"contentType,omitempty"`
	Params      map[string]any `json:"params,omitempty"`
}

// NewDataQualityAssertionsFacet wraps assertions in a facet.
func NewDataQualityAssertionsFacet(assertions ...Assertion) *DataQualityAssertionsFacet {
	if assertions == nil {
		assertions = []Assertion{}
	}
	return &DataQualityAssertionsFacet{BaseFacet: NewBaseFacet(DataQualityAssertionsSchemaURL), Assertions: assertions}
}

// ---- output dataset facets ----

// OutputDatasetFacets are facets that only make sense for an output.
type OutputDatasetFacets struct {
	OutputStatistics *OutputStatisticsFacet `facet:"outputStatistics"`
	Custom           map[string]any
}

// OutputStatisticsFacet says how much was written, in the fields of
// InputStatisticsFacet.
type OutputStatisticsFacet = InputStatisticsFacet

// NewOutputStatisticsFacet returns the statistics of one file written.
func NewOutputStatisticsFacet(rows, bytes int64) *OutputStatisticsFacet {
	f := NewInputStatisticsFacet(rows, bytes)
	f.SchemaURL = OutputStatisticsOutputFacetSchemaURL
	return f
}

// ---- number helpers ----

// Int returns a pointer to v, for the optional integer fields of facets.
func Int(v int64) *int64 { return &v }

// Num returns a pointer to v, or nil when v is NaN or infinite (JSON has no
// such numbers, and a missing metric is better than a broken event).
func Num(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// ---- JSON of facet containers ----

// The containers marshal as one JSON object: typed facets under their keys,
// custom facets under theirs. A custom key that collides with a set typed
// facet is an error rather than a silent overwrite.

func (f RunFacets) MarshalJSON() ([]byte, error)            { return marshalFacets(&f) }
func (f *RunFacets) UnmarshalJSON(b []byte) error           { return unmarshalFacets(b, f) }
func (f RunFacets) IsZero() bool                            { return facetsZero(&f) }
func (f JobFacets) MarshalJSON() ([]byte, error)            { return marshalFacets(&f) }
func (f *JobFacets) UnmarshalJSON(b []byte) error           { return unmarshalFacets(b, f) }
func (f JobFacets) IsZero() bool                            { return facetsZero(&f) }
func (f DatasetFacets) MarshalJSON() ([]byte, error)        { return marshalFacets(&f) }
func (f *DatasetFacets) UnmarshalJSON(b []byte) error       { return unmarshalFacets(b, f) }
func (f DatasetFacets) IsZero() bool                        { return facetsZero(&f) }
func (f InputDatasetFacets) MarshalJSON() ([]byte, error)   { return marshalFacets(&f) }
func (f *InputDatasetFacets) UnmarshalJSON(b []byte) error  { return unmarshalFacets(b, f) }
func (f InputDatasetFacets) IsZero() bool                   { return facetsZero(&f) }
func (f OutputDatasetFacets) MarshalJSON() ([]byte, error)  { return marshalFacets(&f) }
func (f *OutputDatasetFacets) UnmarshalJSON(b []byte) error { return unmarshalFacets(b, f) }
func (f OutputDatasetFacets) IsZero() bool                  { return facetsZero(&f) }

// SetCustom adds a custom run facet under key.
func (f *RunFacets) SetCustom(key string, facet any) { f.Custom = setCustom(f.Custom, key, facet) }

func setCustom(m map[string]any, key string, facet any) map[string]any {
	if m == nil {
		m = map[string]any{}
	}
	m[key] = facet
	return m
}

// facetSlots walks the tagged pointer fields and the Custom map of a facet
// container (always passed as a pointer to the struct).
func facetSlots(container any) (slots []reflect.Value, keys []string, custom reflect.Value) {
	v := reflect.ValueOf(container).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if key, ok := sf.Tag.Lookup("facet"); ok {
			slots = append(slots, v.Field(i))
			keys = append(keys, key)
		} else if sf.Name == "Custom" {
			custom = v.Field(i)
		}
	}
	return slots, keys, custom
}

func marshalFacets(container any) ([]byte, error) {
	slots, keys, custom := facetSlots(container)
	m := make(map[string]any, len(slots)+custom.Len())
	for i, s := range slots {
		if !s.IsNil() {
			m[keys[i]] = s.Interface()
		}
	}
	ck := make([]string, 0, custom.Len())
	for _, k := range custom.MapKeys() {
		ck = append(ck, k.String())
	}
	sort.Strings(ck)
	for _, k := range ck {
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("lineage: custom facet %q collides with the typed facet of the same key; set one or the other", k)
		}
		val := custom.MapIndex(reflect.ValueOf(k)).Interface()
		if val == nil {
			continue
		}
		m[k] = val
	}
	return json.Marshal(m)
}

func unmarshalFacets(b []byte, container any) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("lineage: facets: %w", err)
	}
	slots, keys, custom := facetSlots(container)
	known := map[string]reflect.Value{}
	for i, s := range slots {
		known[keys[i]] = s
	}
	for k, msg := range raw {
		if s, ok := known[k]; ok {
			p := reflect.New(s.Type().Elem())
			if err := json.Unmarshal(msg, p.Interface()); err != nil {
				return fmt.Errorf("lineage: facet %q: %w", k, err)
			}
			s.Set(p)
			continue
		}
		if custom.IsNil() {
			custom.Set(reflect.MakeMap(custom.Type()))
		}
		custom.SetMapIndex(reflect.ValueOf(k), reflect.ValueOf(json.RawMessage(msg)))
	}
	return nil
}

func facetsZero(container any) bool {
	slots, _, custom := facetSlots(container)
	for _, s := range slots {
		if !s.IsNil() {
			return false
		}
	}
	return custom.Len() == 0
}
