//! Writing a [`CoreDump`] as a core dump file, with wasm-encoder's sections.

use wasm_encoder::{
    ConstExpr, CoreDumpInstancesSection, CoreDumpModulesSection, CoreDumpSection,
    CoreDumpStackSection, CoreDumpValue, DataSection, GlobalSection, GlobalType, HeapType, Ieee32,
    Ieee64, MemorySection, Module, RefType, ValType,
};

use crate::CoreDump;
use crate::model::{GlobalValue, HeapKind, Value};

pub(crate) fn encode(dump: &CoreDump<'_>) -> Vec<u8> {
    let mut module = Module::new();
    module.section(&CoreDumpSection::new(dump.process_name.as_str()));

    let mut modules = CoreDumpModulesSection::new();
    for name in &dump.modules {
        modules.module(name);
    }
    module.section(&modules);

    let mut instances = CoreDumpInstancesSection::new();
    for i in &dump.instances {
        instances.instance(
            i.module,
            i.memories.iter().copied(),
            i.globals.iter().copied(),
        );
    }
    module.section(&instances);

    for thread in &dump.threads {
        let mut stack = CoreDumpStackSection::new(thread.name.as_str());
        for f in &thread.frames {
            stack.frame(
                f.instance,
                f.func,
                f.code_offset,
                f.locals.iter().map(value),
                f.stack.iter().map(value),
            );
        }
        module.section(&stack);
    }

    let mut memories = MemorySection::new();
    let mut data = DataSection::new();
    for (index, memory) in dump.memories.iter().enumerate() {
        let ty = memory.ty;
        memories.memory(wasm_encoder::MemoryType {
            minimum: ty.pages,
            maximum: ty.maximum,
            memory64: ty.memory64,
            shared: ty.shared,
            page_size_log2: ty.page_size_log2,
        });
        for segment in &memory.segments {
            let offset = if ty.memory64 {
                ConstExpr::i64_const(segment.address as i64)
            } else {
                ConstExpr::i32_const(segment.address as u32 as i32)
            };
            data.active(index as u32, &offset, segment.data.iter().copied());
        }
    }
    module.section(&memories);

    let mut globals = GlobalSection::new();
    for g in &dump.globals {
        let (val_type, init) = global(g.value);
        globals.global(
            GlobalType {
                val_type,
                mutable: g.mutable,
                shared: false,
            },
            &init,
        );
    }
    module.section(&globals);
    module.section(&data);

    for custom in &dump.custom_sections {
        module.section(&wasm_encoder::CustomSection {
            name: custom.name.clone(),
            data: custom.data.clone(),
        });
    }
    module.finish()
}

fn value(v: &Value) -> CoreDumpValue {
    match *v {
        Value::Missing => CoreDumpValue::Missing,
        Value::I32(x) => CoreDumpValue::I32(x),
        Value::I64(x) => CoreDumpValue::I64(x),
        Value::F32(bits) => CoreDumpValue::F32(Ieee32::new(bits)),
        Value::F64(bits) => CoreDumpValue::F64(Ieee64::new(bits)),
    }
}

fn global(v: GlobalValue) -> (ValType, ConstExpr) {
    match v {
        GlobalValue::I32(x) => (ValType::I32, ConstExpr::i32_const(x)),
        GlobalValue::I64(x) => (ValType::I64, ConstExpr::i64_const(x)),
        GlobalValue::F32(bits) => (ValType::F32, ConstExpr::f32_const(Ieee32::new(bits))),
        GlobalValue::F64(bits) => (ValType::F64, ConstExpr::f64_const(Ieee64::new(bits))),
        GlobalValue::V128(x) => (ValType::V128, ConstExpr::v128_const(x as i128)),
        GlobalValue::RefNull(kind) => {
            let (ty, heap) = match kind {
                HeapKind::Func => (RefType::FUNCREF, HeapType::FUNC),
                HeapKind::Extern => (RefType::EXTERNREF, HeapType::EXTERN),
                HeapKind::Any => (RefType::ANYREF, HeapType::ANY),
            };
            (ValType::Ref(ty), ConstExpr::ref_null(heap))
        }
        GlobalValue::RefFunc(index) => (ValType::FUNCREF, ConstExpr::ref_func(index)),
    }
}
