package lineage

import (
	"fmt"
	"net/url"
	"path/filepath"
	"time"

	"github.com/salesdag/salesdag/internal/frame"
)

// FileNamespace is the dataset namespace OpenLineage gives local files.
const FileNamespace = "file"

// FileDatasetName returns the OpenLineage name of a local file: its
// absolute, cleaned path.
func FileDatasetName(path string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("lineage: a file dataset needs a path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("lineage: absolute path of %q: %w", path, err)
	}
	return filepath.ToSlash(abs), nil
}

// FileURI returns the file:// URI of an absolute path.
func FileURI(abs string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
}

// SchemaFacet turns a table schema into a schema facet (fields numbered
// from 1). It returns nil for an empty schema.
func SchemaFacet(fields []frame.Field) *SchemaDatasetFacet {
	if len(fields) == 0 {
		return nil
	}
	out := make([]SchemaField, len(fields))
	for i, f := range fields {
		out[i] = SchemaField{Name: f.Name, Type: f.Type, OrdinalPosition: i + 1}
	}
	return &SchemaDatasetFacet{BaseFacet: NewBaseFacet(SchemaDatasetFacetSchemaURL), Fields: out}
}

// InputFile describes a file a run read, with what was measured on it.
type InputFile struct {
	// Path of the file; made absolute. Leave empty with Namespace and Name
	// set for a dataset that is not a local file (the embedded sample).
	Path      string
	Namespace string
	Name      string
	// SourceURI is the dataSource URI for a non-file dataset.
	SourceURI string

	Schema []frame.Field
	// Measured is false until the file has been read: then only schema and
	// dataSource are written.
	Measured    bool
	Rows        int64
	Bytes       int64
	Columns     map[string]ColumnMetrics
	LastUpdated time.Time
	// FileCount is the number of files the dataset stands for (a
	// directory of many input files); 0 means one.
	FileCount int64
}

// InputFileDataset builds the input dataset for f: schema and dataSource,
// and once measured the inputStatistics and dataQualityMetrics facets.
func InputFileDataset(f InputFile) (InputDataset, error) {
	ds, err := fileDataset(f.Path, f.Namespace, f.Name, f.SourceURI, f.Schema)
	if err != nil {
		return InputDataset{}, err
	}
	in := InputDataset{Dataset: ds}
	if f.Measured {
		files := max(f.FileCount, 1)
		in.InputFacets.InputStatistics = NewInputStatisticsFacet(f.Rows, f.Bytes)
		in.InputFacets.InputStatistics.FileCount = Int(files)
		dq := NewDataQualityMetricsInputFacet(f.Rows, f.Bytes)
		dq.FileCount = Int(files)
		for k, v := range f.Columns {
			dq.ColumnMetrics[k] = v
		}
		if !f.LastUpdated.IsZero() {
			dq.LastUpdated = f.LastUpdated.UTC().Format(time.RFC3339Nano)
		}
		in.InputFacets.DataQualityMetrics = dq
	}
	return in, nil
}

// OutputFile describes a file a run wrote.
type OutputFile struct {
	Path   string
	Schema []frame.Field
	Rows   int64
	Bytes  int64
}

// OutputFileDataset builds the output dataset for f with schema, dataSource
// and outputStatistics.
func OutputFileDataset(f OutputFile) (OutputDataset, error) {
	ds, err := fileDataset(f.Path, "", "", "", f.Schema)
	if err != nil {
		return OutputDataset{}, err
	}
	out := OutputDataset{Dataset: ds}
	out.OutputFacets.OutputStatistics = NewOutputStatisticsFacet(f.Rows, f.Bytes)
	return out, nil
}

func fileDataset(path, ns, name, sourceURI string, schema []frame.Field) (Dataset, error) {
	var ds Dataset
	switch {
	case path != "":
		n, err := FileDatasetName(path)
		if err != nil {
			return ds, err
		}
		ds = Dataset{Namespace: FileNamespace, Name: n}
		ds.Facets.DataSource = NewDatasourceDatasetFacet(FileNamespace, FileURI(n))
	case ns != "" && name != "":
		ds = Dataset{Namespace: ns, Name: name}
		if sourceURI != "" {
			ds.Facets.DataSource = NewDatasourceDatasetFacet(ns, sourceURI)
		}
	default:
		return ds, fmt.Errorf("lineage: a dataset needs a file path, or a namespace and a name")
	}
	ds.Facets.Schema = SchemaFacet(schema)
	return ds, nil
}
