//! Linux and the BSDs: pcsclite loaded at run time, the first time a function is called.
//!
//! Each function looks its symbol up once. When the library or the symbol is missing, the call
//! returns `SCARD_E_NO_SERVICE` (what pcsclite itself says when its daemon is not running), so
//! callers report "no PC/SC service" instead of the process failing to start.

use super::*;
use std::os::raw::{c_char, c_void};
use std::sync::OnceLock;

const PCI_LENGTH: DWORD = std::mem::size_of::<SCARD_IO_REQUEST>() as DWORD;

// pcsclite defines these three as data; callers pass their addresses to `SCardTransmit`, which
// reads the protocol from them. The same values, defined here.
pub static g_rgSCardT0Pci: SCARD_IO_REQUEST = SCARD_IO_REQUEST {
    dwProtocol: SCARD_PROTOCOL_T0,
    cbPciLength: PCI_LENGTH,
};
pub static g_rgSCardT1Pci: SCARD_IO_REQUEST = SCARD_IO_REQUEST {
    dwProtocol: SCARD_PROTOCOL_T1,
    cbPciLength: PCI_LENGTH,
};
pub static g_rgSCardRawPci: SCARD_IO_REQUEST = SCARD_IO_REQUEST {
    dwProtocol: SCARD_PROTOCOL_RAW,
    cbPciLength: PCI_LENGTH,
};

/// The library file: `PCSCLITE_LIBRARY`, else pcsclite's soname.
fn library_name() -> std::ffi::OsString {
    std::env::var_os("PCSCLITE_LIBRARY")
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "libpcsclite.so.1".into())
}

/// pcsclite, loaded once (or why it could not be).
pub(crate) fn library() -> &'static Result<libloading::Library, String> {
    static LIB: OnceLock<Result<libloading::Library, String>> = OnceLock::new();
    LIB.get_or_init(|| {
        let name = library_name();
        // Loading runs the library's initialisers: pcsclite's only set up its client state.
        unsafe { libloading::Library::new(&name) }
            .map_err(|e| format!("cannot load {}: {e}", name.to_string_lossy()))
    })
}

macro_rules! functions {
    ($( $name:ident ( $($arg:ident : $ty:ty),* $(,)? ); )*) => { $(
        #[allow(clippy::missing_safety_doc)]
        pub unsafe fn $name($($arg: $ty),*) -> LONG {
            type F = unsafe extern "C" fn($($ty),*) -> LONG;
            static SYMBOL: OnceLock<Option<F>> = OnceLock::new();
            let f = SYMBOL.get_or_init(|| match library() {
                Ok(lib) => unsafe {
                    lib.get::<F>(concat!(stringify!($name), "\0").as_bytes())
                        .ok()
                        .map(|s| *s)
                },
                Err(_) => None,
            });
            match f {
                Some(f) => unsafe { f($($arg),*) },
                None => SCARD_E_NO_SERVICE,
            }
        }
    )* };
}

functions! {
    SCardEstablishContext(
        dwScope: DWORD,
        pvReserved1: *const c_void,
        pvReserved2: *const c_void,
        phContext: *mut SCARDCONTEXT,
    );
    SCardReleaseContext(hContext: SCARDCONTEXT);
    SCardIsValidContext(hContext: SCARDCONTEXT);
    SCardCancel(hContext: SCARDCONTEXT);
    SCardConnect(
        hContext: SCARDCONTEXT,
        szReader: *const c_char,
        dwShareMode: DWORD,
        dwPreferredProtocols: DWORD,
        phCard: *mut SCARDHANDLE,
        pdwActiveProtocol: *mut DWORD,
    );
    SCardReconnect(
        hCard: SCARDHANDLE,
        dwShareMode: DWORD,
        dwPreferredProtocols: DWORD,
        dwInitialization: DWORD,
        pdwActiveProtocol: *mut DWORD,
    );
    SCardDisconnect(hCard: SCARDHANDLE, dwDisposition: DWORD);
    SCardGetStatusChange(
        hContext: SCARDCONTEXT,
        dwTimeout: DWORD,
        rgReaderStates: *mut SCARD_READERSTATE,
        cReaders: DWORD,
    );
    SCardListReaders(
        hContext: SCARDCONTEXT,
        mszGroups: *const c_char,
        mszReaders: *mut c_char,
        pcchReaders: *mut DWORD,
    );
    SCardBeginTransaction(hCard: SCARDHANDLE);
    SCardEndTransaction(hCard: SCARDHANDLE, dwDisposition: DWORD);
    SCardStatus(
        hCard: SCARDHANDLE,
        szReaderName: *mut c_char,
        pcchReaderLen: *mut DWORD,
        pdwState: *mut DWORD,
        pdwProtocol: *mut DWORD,
        pbAtr: *mut u8,
        pcbAtrLen: *mut DWORD,
    );
    SCardGetAttrib(hCard: SCARDHANDLE, dwAttrId: DWORD, pbAttr: *mut u8, pcbAttrLen: *mut DWORD);
    SCardSetAttrib(hCard: SCARDHANDLE, dwAttrId: DWORD, pbAttr: *const u8, pcbAttrLen: DWORD);
    SCardTransmit(
        hCard: SCARDHANDLE,
        pioSendPci: *const SCARD_IO_REQUEST,
        pbSendBuffer: *const u8,
        cbSendLength: DWORD,
        pioRecvPci: *mut SCARD_IO_REQUEST,
        pbRecvBuffer: *mut u8,
        pcbRecvLength: *mut DWORD,
    );
    SCardControl(
        hCard: SCARDHANDLE,
        dwControlCode: DWORD,
        pbSendBuffer: *const u8,
        cbSendLength: DWORD,
        pbRecvBuffer: *mut u8,
        cbRecvLength: DWORD,
        lpBytesReturned: *mut DWORD,
    );
}
