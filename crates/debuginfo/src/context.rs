//! [`DebugInfo`]: the debug info of one module, loaded lazily, and symbolization.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::build_id::find_debug_file;
use crate::error::{Error, Result};
use crate::frame::{Frame, FunctionName, Location, NameSource, Scope};
use crate::globals::GlobalVariable;
use crate::lines::RecordedPaths;
use crate::module::Module;
use crate::names::FallbackNames;
use crate::qualify::UnitNames;
use crate::types::{Type, TypeId};
use crate::units::UnitCache;
use wasm_layout::CodeLayout;

/// The gimli reader this crate reads DWARF with: slices of the module's shared bytes.
pub type Reader = gimli::EndianArcSlice<gimli::LittleEndian>;

/// Where a [`DebugInfo`]'s DWARF came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DwarfSource {
    /// The module itself.
    Module,
    /// A separate debug file (`debug-<build_id>.wasm`), at this path if it was read from one.
    DebugFile(Option<PathBuf>),
    /// No DWARF: names come from the `name` section, exports and imports, or are `func[N]`.
    None,
}

/// The debug info of one Wasm module: its DWARF, its function names outside DWARF and its Code
/// section's layout. Everything about code addresses goes through here.
///
/// Like addr2line's `Context` (which it is built on), a `DebugInfo` is somewhat costly to
/// create (it indexes every compilation unit's address ranges) and cheap to query: line tables,
/// function tables and inline trees are parsed per unit on first use and kept, so a backtrace only
/// parses the units its frames live in. Build one per module and keep it.
///
/// A `DebugInfo` is `Send` but not `Sync` (its caches fill through `OnceCell`s): to share one
/// between threads, put it behind a `Mutex`.
pub struct DebugInfo {
    pub(crate) dwarf_module: Option<Module>,
    pub(crate) layout: Option<CodeLayout>,
    pub(crate) dwarf: Arc<gimli::Dwarf<Reader>>,
    pub(crate) ctx: addr2line::Context<Reader>,
    pub(crate) names: FallbackNames,
    pub(crate) units: UnitCache,
    pub(crate) types: RefCell<HashMap<TypeId, Arc<Type>>>,
    pub(crate) unit_names: RefCell<HashMap<usize, Arc<UnitNames>>>,
    pub(crate) globals: OnceCell<Vec<GlobalVariable>>,
    pub(crate) declarations: OnceCell<HashMap<String, crate::frame::Location>>,
    pub(crate) recorded_paths: RefCell<HashMap<usize, RecordedPaths>>,
    source: DwarfSource,
}

impl std::fmt::Debug for DebugInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DebugInfo")
            .field("source", &self.source)
            .field("layout", &self.layout.is_some())
            .finish_non_exhaustive()
    }
}

fn load_dwarf(module: Option<&Module>) -> Result<gimli::Dwarf<Reader>> {
    let empty = Reader::new(Arc::from(&[][..]), gimli::LittleEndian);
    let mut sections = Vec::new();
    let mut dwarf = gimli::Dwarf::load(|id| -> Result<Reader> {
        Ok(module
            .and_then(|m| {
                let range = m.custom_section_range(id.name())?;
                sections.push((id.name(), range.clone()));
                Some(Reader::new(m.shared_bytes().clone(), gimli::LittleEndian).range(range))
            })
            .unwrap_or_else(|| empty.clone()))
    })?;
    if let Some(module) = module {
        crate::located::register(module.shared_bytes(), sections);
    }
    dwarf.populate_abbreviations_cache(gimli::AbbreviationsCacheStrategy::Duplicates);
    Ok(dwarf)
}

impl DebugInfo {
    /// Debug info from one module that carries its own DWARF (or none: then names come from
    /// the `name` section, exports and imports: [`DebugInfo::function_name`]).
    pub fn new(module: Module) -> Result<DebugInfo> {
        let source = if module.has_dwarf() {
            DwarfSource::Module
        } else {
            DwarfSource::None
        };
        Self::build(module.code_layout().cloned(), Some(module), None, source)
    }

    /// Debug info of `module` (typically stripped) from its separate `debug_file`. The code
    /// layout comes from `module` when it has a Code section (the debug file keeps Code at the
    /// same offsets), else from the debug file; names outside DWARF from the debug file when it
    /// has a `name` section, else from the module.
    ///
    /// Fails with [`Error::BuildIdMismatch`] if both have build ids and they differ, and with
    /// [`Error::NoDebugInfo`] if the debug file has no DWARF.
    pub fn with_debug_file(module: Module, debug_file: Module) -> Result<DebugInfo> {
        Self::with_debug_file_at(module, debug_file, None)
    }

    fn with_debug_file_at(
        module: Module,
        debug_file: Module,
        path: Option<PathBuf>,
    ) -> Result<DebugInfo> {
        if let (Some(expected), Some(found)) = (module.build_id(), debug_file.build_id())
            && expected != found
        {
            return Err(Error::BuildIdMismatch {
                path: path.unwrap_or_default(),
                expected: expected.to_string(),
                found: found.to_string(),
            });
        }
        if !debug_file.has_dwarf() {
            return Err(Error::NoDebugInfo {
                build_id: module.build_id().map(|id| id.to_string()),
            });
        }
        let layout = module.code_layout().or(debug_file.code_layout()).cloned();
        let names_from = if debug_file.custom_section("name").is_some() {
            debug_file.clone()
        } else {
            module
        };
        Self::build(
            layout,
            Some(debug_file),
            Some(names_from),
            DwarfSource::DebugFile(path),
        )
    }

    /// Reads the module at `path` and its debug info: its own DWARF if it has some, else the
    /// debug file named by its `build_id` (`debug-<id>.wasm`), looked for next to the module and
    /// then in `debug_dirs` (see [`debug_file_candidates`](crate::debug_file_candidates)).
    /// Without either, the debug info has names only ([`DwarfSource::None`]).
    ///
    /// Failing that, the module's `external_debug_info` section names the debug file: a local
    /// path or `file://` URL (relative to the module's directory) is read, and for any URL its
    /// last path segment is looked for next to the module and in `debug_dirs`; nothing is
    /// fetched over the network.
    pub fn load(path: impl AsRef<Path>, debug_dirs: &[PathBuf]) -> Result<DebugInfo> {
        let path = path.as_ref();
        let module = Module::read(path)?;
        if module.has_dwarf() {
            return DebugInfo::new(module);
        }
        let by_build_id = module
            .build_id()
            .and_then(|id| find_debug_file(Some(path), &id, debug_dirs));
        let by_url = || {
            let url = module.external_debug_info().ok().flatten()?;
            external_debug_file_candidates(path, &url, debug_dirs)
                .into_iter()
                .find(|p| p.is_file())
        };
        if let Some(debug_path) = by_build_id.or_else(by_url) {
            let debug_file = Module::read(&debug_path)?;
            return Self::with_debug_file_at(module, debug_file, Some(debug_path));
        }
        DebugInfo::new(module)
    }

    /// Debug info from its parts: the code layout (needed to map code offsets), the module that
    /// holds the DWARF, and the module whose `name` section, exports and imports give fallback
    /// names (the DWARF module's when `None`).
    pub fn from_parts(
        layout: Option<CodeLayout>,
        dwarf_module: Option<Module>,
        names_module: Option<Module>,
    ) -> Result<DebugInfo> {
        let source = if dwarf_module.as_ref().is_some_and(Module::has_dwarf) {
            DwarfSource::DebugFile(None)
        } else {
            DwarfSource::None
        };
        Self::build(layout, dwarf_module, names_module, source)
    }

    fn build(
        layout: Option<CodeLayout>,
        dwarf_module: Option<Module>,
        names_module: Option<Module>,
        source: DwarfSource,
    ) -> Result<DebugInfo> {
        let dwarf = Arc::new(load_dwarf(dwarf_module.as_ref())?);
        let ctx = addr2line::Context::from_arc_dwarf(dwarf.clone())?;
        let names = FallbackNames::new(names_module.as_ref().or(dwarf_module.as_ref()));
        Ok(DebugInfo {
            dwarf_module,
            layout,
            dwarf,
            ctx,
            names,
            units: UnitCache::default(),
            types: RefCell::default(),
            unit_names: RefCell::default(),
            globals: OnceCell::new(),
            declarations: OnceCell::new(),
            recorded_paths: RefCell::default(),
            source,
        })
    }

    /// The module (or debug file) the DWARF was read from.
    pub fn dwarf_module(&self) -> Option<&Module> {
        self.dwarf_module.as_ref()
    }

    /// Where the DWARF came from.
    pub fn dwarf_source(&self) -> &DwarfSource {
        &self.source
    }

    /// Whether there is DWARF (else names only).
    pub fn has_dwarf(&self) -> bool {
        self.source != DwarfSource::None
    }

    /// The Code section's layout, if known.
    pub fn code_layout(&self) -> Option<&CodeLayout> {
        self.layout.as_ref()
    }

    /// The loaded DWARF sections, for what this crate does not cover.
    pub fn dwarf(&self) -> &gimli::Dwarf<Reader> {
        &self.dwarf
    }

    /// The DWARF address of `code_offset` in function `func` (see
    /// [`CodeLayout::dwarf_address`]). Fails with [`Error::NoCodeSection`] without a layout.
    pub fn dwarf_address(&self, func: u32, code_offset: u32) -> Result<u64> {
        self.layout
            .as_ref()
            .ok_or(Error::NoCodeSection)?
            .dwarf_address(func, code_offset)
            .map_err(Error::from)
    }

    /// Symbolizes a core dump frame's code location: one [`Frame`] per function, the innermost
    /// inlined one first and the function `func` itself last; always at least one.
    ///
    /// The name comes from the DWARF, else from the `name` section, the function's export or
    /// its import, else is `func[N]` ([`NameSource`], [`DebugInfo::function_name`]). A caller frame's code offset points at its call instruction, so its
    /// line is the call's line.
    pub fn frames(&self, func: u32, code_offset: u32) -> Result<Vec<Frame>> {
        match &self.layout {
            Some(layout) => {
                let address = layout.dwarf_address(func, code_offset)?;
                self.frames_at(address, Some(func))
            }
            None => Ok(vec![self.fallback_frame(func)]),
        }
    }

    /// Symbolizes a DWARF address (code-section relative). The function index for fallback
    /// names comes from the code layout; without one, an address no DWARF function covers gives
    /// no frames.
    pub fn frames_for_address(&self, address: u64) -> Result<Vec<Frame>> {
        let func = self
            .layout
            .as_ref()
            .and_then(|l| l.code_location(address))
            .map(|l| l.func);
        self.frames_at(address, func)
    }

    fn frames_at(&self, address: u64, func: Option<u32>) -> Result<Vec<Frame>> {
        let mut found = Vec::new();
        let mut iter = self.ctx.find_frames(address).skip_all_loads()?;
        while let Some(frame) = iter.next()? {
            found.push(frame);
        }
        // The unit of the address: its offset for scopes, its files' recorded paths.
        let (unit, recorded) = if found.is_empty() {
            (None, Default::default())
        } else {
            self.unit_at(address)?
        };
        let mut frames = Vec::with_capacity(found.len());
        for frame in found {
            let function = (frame.function.as_ref())
                .map(|name| self.dwarf_function_name(name, unit, frame.dw_die_offset))
                .transpose()?;
            let location = frame.location.map(|l| Location::new(l, &recorded));
            frames.push((function, location, frame.dw_die_offset));
        }
        let unit = unit.filter(|_| matches!(frames.last(), Some((_, _, Some(_)))));
        let outer_die = frames.last().and_then(|f| f.2);
        let count = frames.len();
        let mut out: Vec<Frame> = frames
            .into_iter()
            .enumerate()
            .map(|(i, (function, location, die))| {
                let outermost = i + 1 == count;
                let function = function.unwrap_or_else(|| match (outermost, func) {
                    (true, Some(func)) => self.function_name(func),
                    _ => FunctionName {
                        name: "??".into(),
                        symbol: None,
                        raw: None,
                        source: NameSource::Unknown,
                    },
                });
                let scope = match (unit, die, outer_die) {
                    (Some(unit), Some(die), Some(function)) => Some(Scope {
                        address,
                        unit,
                        die: die.0,
                        function: function.0,
                    }),
                    _ => None,
                };
                Frame {
                    function,
                    location,
                    inlined: !outermost,
                    scope,
                }
            })
            .collect();
        if out.is_empty()
            && let Some(func) = func
        {
            out.push(self.fallback_frame(func));
        }
        Ok(out)
    }

    /// The name of a function DWARF describes, from addr2line's `name` of it (the linkage
    /// name, else `DW_AT_name`) and, for Rust, the DIE at `die` of the unit at `unit`
    /// ([`DebugInfo::rust_function_name`]), as gdb names it.
    fn dwarf_function_name(
        &self,
        name: &addr2line::FunctionName<Reader>,
        unit: Option<usize>,
        die: Option<gimli::UnitOffset>,
    ) -> Result<FunctionName> {
        let function = FunctionName::new(&name.raw_name()?, name.language, NameSource::Dwarf);
        let (Some(gimli::DW_LANG_Rust), Some(unit), Some(die)) = (name.language, unit, die) else {
            return Ok(function);
        };
        let unit = self.units.unit(&self.dwarf, unit)?;
        Ok(match self.rust_function_name(&unit, die)? {
            Some(shown) => function.shown_as(shown),
            None => function,
        })
    }

    /// The `.debug_info` offset of the unit that describes `address`, and the recorded paths
    /// of its files.
    fn unit_at(&self, address: u64) -> Result<(Option<usize>, RecordedPaths)> {
        let Some(unit) = self.ctx.find_dwarf_and_unit(address).skip_all_loads() else {
            return Ok((None, Default::default()));
        };
        Ok((Some(unit.header.offset().0), self.recorded_paths(&unit)?))
    }

    fn fallback_frame(&self, func: u32) -> Frame {
        Frame {
            function: self.function_name(func),
            location: None,
            inlined: false,
            scope: None,
        }
    }

    /// The name of function `func` without DWARF ([`wasm_layout::FunctionNames`]): from the
    /// `name` section (demangled), else its export, else its import's `module.field`, else
    /// `func[N]`.
    pub fn function_name(&self, func: u32) -> FunctionName {
        self.names.get(func)
    }
}

/// Where the debug file named by an `external_debug_info` URL may be on this
/// machine, in order: the path itself (no scheme, or `file://`), relative to
/// the module's directory; then the URL's last segment next to the module and
/// in each of `dirs`.
fn external_debug_file_candidates(module_path: &Path, url: &str, dirs: &[PathBuf]) -> Vec<PathBuf> {
    let module_dir = module_path.parent().unwrap_or(Path::new(""));
    let mut candidates = Vec::new();
    let local = url
        .strip_prefix("file://")
        .or((!url.contains("://")).then_some(url));
    if let Some(local) = local {
        candidates.push(module_dir.join(local));
    }
    if let Some(name) = url.rsplit('/').next().filter(|n| !n.is_empty()) {
        candidates.push(module_dir.join(name));
        candidates.extend(dirs.iter().map(|d| d.join(name)));
    }
    candidates
}
