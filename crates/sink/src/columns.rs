//! Column builders for the smaller tables (`dns.parquet`, `sip.parquet`, `findings.parquet`):
//! a row type lists its columns once ([`TableRow::schema`]) and hands its values in the same
//! order ([`TableRow::values`]); [`RowColumns`] turns them into Arrow batches. `flows.parquet`,
//! the large table, has builders of its own (`parquet_sink.rs`).

use std::fmt::Write as _;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, RecordBatch, StringBuilder,
    TimestampNanosecondBuilder, UInt16Builder, UInt32Builder, UInt64Builder,
};
use arrow::datatypes::{DataType, Field, SchemaRef, TimeUnit};

/// One value of a row, in schema order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// A UTF-8 column.
    Str(Option<&'a str>),
    /// An address, written as text into a UTF-8 column.
    Ip(std::net::IpAddr),
    /// A UInt64 column.
    U64(Option<u64>),
    /// A UInt32 column.
    U32(Option<u32>),
    /// A UInt16 column.
    U16(Option<u16>),
    /// A Float64 column.
    F64(Option<f64>),
    /// A boolean column.
    Bool(Option<bool>),
    /// A timestamp (nanoseconds since the epoch, UTC) column.
    Ts(Option<i64>),
}

/// A row of one of the smaller tables.
pub trait TableRow {
    /// The table's schema.
    fn schema() -> SchemaRef;
    /// Calls `out` once per column, in schema order.
    fn values(&self, out: &mut dyn FnMut(Value<'_>));
}

/// The timestamp type of every table.
pub(crate) fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
}

/// A nullable or non-null field.
pub(crate) fn field(name: &str, ty: DataType, nullable: bool) -> Field {
    Field::new(name, ty, nullable)
}

enum Builder {
    Str(StringBuilder),
    U64(UInt64Builder),
    U32(UInt32Builder),
    U16(UInt16Builder),
    F64(Float64Builder),
    Bool(BooleanBuilder),
    Ts(TimestampNanosecondBuilder),
}

impl Builder {
    fn for_type(ty: &DataType) -> Builder {
        match ty {
            DataType::UInt64 => Builder::U64(UInt64Builder::new()),
            DataType::UInt32 => Builder::U32(UInt32Builder::new()),
            DataType::UInt16 => Builder::U16(UInt16Builder::new()),
            DataType::Float64 => Builder::F64(Float64Builder::new()),
            DataType::Boolean => Builder::Bool(BooleanBuilder::new()),
            DataType::Timestamp(..) => {
                Builder::Ts(TimestampNanosecondBuilder::new().with_timezone("UTC"))
            }
            _ => Builder::Str(StringBuilder::new()),
        }
    }

    /// Appends `v`; a value of another type than the column's is a null (a programming error
    /// that the schema tests catch, never a panic).
    fn append(&mut self, v: Value<'_>) {
        match (self, v) {
            (Builder::Str(b), Value::Str(x)) => b.append_option(x),
            (Builder::Str(b), Value::Ip(ip)) => {
                // StringBuilder is fmt::Write: the address goes straight into the column.
                let _ = write!(b, "{ip}");
                b.append_value("");
            }
            (Builder::U64(b), Value::U64(x)) => b.append_option(x),
            (Builder::U32(b), Value::U32(x)) => b.append_option(x),
            (Builder::U16(b), Value::U16(x)) => b.append_option(x),
            (Builder::F64(b), Value::F64(x)) => b.append_option(x),
            (Builder::Bool(b), Value::Bool(x)) => b.append_option(x),
            (Builder::Ts(b), Value::Ts(x)) => b.append_option(x),
            (b, _) => b.append_null(),
        }
    }

    fn append_null(&mut self) {
        match self {
            Builder::Str(b) => b.append_null(),
            Builder::U64(b) => b.append_null(),
            Builder::U32(b) => b.append_null(),
            Builder::U16(b) => b.append_null(),
            Builder::F64(b) => b.append_null(),
            Builder::Bool(b) => b.append_null(),
            Builder::Ts(b) => b.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Str(b) => Arc::new(b.finish()),
            Builder::U64(b) => Arc::new(b.finish()),
            Builder::U32(b) => Arc::new(b.finish()),
            Builder::U16(b) => Arc::new(b.finish()),
            Builder::F64(b) => Arc::new(b.finish()),
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::Ts(b) => Arc::new(b.finish()),
        }
    }
}

/// Builders for one batch of `T` rows.
pub(crate) struct RowColumns {
    schema: SchemaRef,
    builders: Vec<Builder>,
    rows: usize,
}

impl RowColumns {
    pub(crate) fn new(schema: SchemaRef) -> Self {
        let builders = schema
            .fields()
            .iter()
            .map(|f| Builder::for_type(f.data_type()))
            .collect();
        RowColumns {
            schema,
            builders,
            rows: 0,
        }
    }

    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    pub(crate) fn append<T: TableRow>(&mut self, row: &T) {
        let mut i = 0usize;
        let builders = &mut self.builders;
        row.values(&mut |v| {
            if let Some(b) = builders.get_mut(i) {
                b.append(v);
            }
            i += 1;
        });
        // A row that gave fewer values than columns leaves nulls, never ragged columns.
        for b in builders.iter_mut().skip(i) {
            b.append_null();
        }
        self.rows += 1;
    }

    pub(crate) fn finish(&mut self) -> Result<RecordBatch, arrow::error::ArrowError> {
        let cols: Vec<ArrayRef> = self.builders.iter_mut().map(Builder::finish).collect();
        self.rows = 0;
        RecordBatch::try_new(self.schema.clone(), cols)
    }
}
