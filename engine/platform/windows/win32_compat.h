/* SPDX-License-Identifier: MIT */
#ifndef MB_WIN32_COMPAT_H
#define MB_WIN32_COMPAT_H

/*
 * The Win32 types, structures and control codes the windows target uses.
 *
 * On Windows (mingw-w64) they come from the system headers, plus the few
 * that mingw lacks (the disk attribute IOCTLs). Elsewhere they are declared
 * here, with the x64 layouts of the Windows SDK, so that the platform logic
 * (buffer parsing and building, command rendering) compiles and is tested
 * natively against a fake call table. win32_layout.c checks every offset the
 * code relies on with static assertions, in both builds: the same numbers
 * hold against mingw's headers and against these.
 */

#ifdef _WIN32

#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0A00
#endif
#include <windows.h>
#include <winioctl.h>
#include <ntddscsi.h>
#include <aclapi.h>
#include <sddl.h>
#include <objbase.h>
#include <wincrypt.h>
#include <wintrust.h>
#include <shlobj.h>
/* winuser.h's MessageBox flag collides with error.h's MB_OK (both 0). */
#undef MB_OK

#define MB_WSTR(s) L##s

#else /* !_WIN32 */

#include <stddef.h>
#include <stdint.h>

#define WINAPI
#define MB_WSTR(s) u##s /* only usable where a const uint16_t * is expected */

typedef int BOOL;
typedef uint8_t BYTE, BOOLEAN, UCHAR;
typedef uint16_t WORD, USHORT, WCHAR;
typedef uint32_t DWORD, ULONG, UINT, ACCESS_MASK, SECURITY_INFORMATION;
typedef int32_t LONG, HRESULT;
typedef uint64_t DWORD64, DWORDLONG, ULONGLONG, ULONG_PTR;
typedef ULONG_PTR SIZE_T;
typedef void *HANDLE, *PVOID, *LPVOID, *HLOCAL, *PSID, *PSECURITY_DESCRIPTOR;
typedef const void *LPCVOID;
typedef DWORD *LPDWORD, *PDWORD;
typedef WCHAR *LPWSTR;
typedef const WCHAR *LPCWSTR;
typedef union { int64_t QuadPart; struct { uint32_t LowPart; int32_t HighPart; } u; } LARGE_INTEGER;

#define TRUE 1
#define FALSE 0
#define INVALID_HANDLE_VALUE ((HANDLE)(intptr_t)-1)
#define MAX_PATH 260
#define INFINITE 0xFFFFFFFFu
#define WAIT_OBJECT_0 0u
#define S_OK 0
#define SUCCEEDED(hr) ((HRESULT)(hr) >= 0)
#define FAILED(hr) ((HRESULT)(hr) < 0)

typedef struct _GUID {
        uint32_t Data1;
        uint16_t Data2;
        uint16_t Data3;
        uint8_t Data4[8];
} GUID;
typedef GUID IID, CLSID;
typedef const GUID *REFIID, *REFCLSID;

typedef struct _OVERLAPPED OVERLAPPED, *LPOVERLAPPED;
typedef struct _SECURITY_ATTRIBUTES {
        DWORD nLength;
        LPVOID lpSecurityDescriptor;
        BOOL bInheritHandle;
} SECURITY_ATTRIBUTES, *LPSECURITY_ATTRIBUTES;

typedef struct _STARTUPINFOW {
        DWORD cb;
        LPWSTR lpReserved, lpDesktop, lpTitle;
        DWORD dwX, dwY, dwXSize, dwYSize, dwXCountChars, dwYCountChars, dwFillAttribute;
        DWORD dwFlags;
        WORD wShowWindow, cbReserved2;
        BYTE *lpReserved2;
        HANDLE hStdInput, hStdOutput, hStdError;
} STARTUPINFOW, *LPSTARTUPINFOW;
typedef struct _PROCESS_INFORMATION {
        HANDLE hProcess, hThread;
        DWORD dwProcessId, dwThreadId;
} PROCESS_INFORMATION, *LPPROCESS_INFORMATION;

typedef struct _FILETIME { DWORD dwLowDateTime, dwHighDateTime; } FILETIME;
typedef struct _WIN32_FIND_DATAW {
        DWORD dwFileAttributes;
        FILETIME ftCreationTime, ftLastAccessTime, ftLastWriteTime;
        DWORD nFileSizeHigh, nFileSizeLow, dwReserved0, dwReserved1;
        WCHAR cFileName[MAX_PATH];
        WCHAR cAlternateFileName[14];
} WIN32_FIND_DATAW, *LPWIN32_FIND_DATAW;
typedef struct _BY_HANDLE_FILE_INFORMATION {
        DWORD dwFileAttributes;
        FILETIME ftCreationTime, ftLastAccessTime, ftLastWriteTime;
        DWORD dwVolumeSerialNumber, nFileSizeHigh, nFileSizeLow, nNumberOfLinks;
        DWORD nFileIndexHigh, nFileIndexLow;
} BY_HANDLE_FILE_INFORMATION, *LPBY_HANDLE_FILE_INFORMATION;
#define SDDL_REVISION_1 1u
#define KF_FLAG_DEFAULT 0u

typedef enum _FIRMWARE_TYPE {
        FirmwareTypeUnknown = 0, FirmwareTypeBios = 1, FirmwareTypeUefi = 2, FirmwareTypeMax
} FIRMWARE_TYPE, *PFIRMWARE_TYPE;

typedef enum _TOKEN_INFORMATION_CLASS {
        TokenUser = 1, TokenElevation = 20,
} TOKEN_INFORMATION_CLASS;
typedef struct _TOKEN_ELEVATION { DWORD TokenIsElevated; } TOKEN_ELEVATION;
typedef struct _SID_AND_ATTRIBUTES { PSID Sid; DWORD Attributes; } SID_AND_ATTRIBUTES;
typedef struct _TOKEN_USER { SID_AND_ATTRIBUTES User; } TOKEN_USER;

typedef enum _SE_OBJECT_TYPE { SE_UNKNOWN_OBJECT_TYPE = 0, SE_FILE_OBJECT = 1 } SE_OBJECT_TYPE;
typedef struct _LUID { DWORD LowPart; LONG HighPart; } LUID, *PLUID;
typedef struct _LUID_AND_ATTRIBUTES { LUID Luid; DWORD Attributes; } LUID_AND_ATTRIBUTES;
typedef struct _TOKEN_PRIVILEGES {
        DWORD PrivilegeCount;
        LUID_AND_ATTRIBUTES Privileges[1];
} TOKEN_PRIVILEGES, *PTOKEN_PRIVILEGES;
#define SE_PRIVILEGE_ENABLED 0x2u
#define TOKEN_ADJUST_PRIVILEGES 0x20u

typedef struct HKEY__ *HKEY;
typedef HKEY *PHKEY;
typedef ACCESS_MASK REGSAM;
typedef BYTE *LPBYTE;
typedef FILETIME *PFILETIME;
#define HKEY_LOCAL_MACHINE ((HKEY)(uintptr_t)0x80000002u)
#define RRF_RT_REG_SZ 0x2u
#define RRF_RT_REG_DWORD 0x10u  /* RegGetValueW docs; 0x18 is RRF_RT_DWORD */
#define KEY_READ 0x20019u
#define REG_SZ 1u
#define REG_EXPAND_SZ 2u
#define REG_BINARY 3u
#define REG_DWORD 4u
#define REG_MULTI_SZ 7u

typedef struct _ACL {
        BYTE AclRevision, Sbz1;
        WORD AclSize, AceCount, Sbz2;
} ACL, *PACL;

/* Access and share modes, creation dispositions, flags. */
#define GENERIC_READ 0x80000000u
#define GENERIC_WRITE 0x40000000u
#define GENERIC_EXECUTE 0x20000000u
#define GENERIC_ALL 0x10000000u
#define FILE_SHARE_READ 0x1u
#define FILE_SHARE_WRITE 0x2u
#define FILE_SHARE_DELETE 0x4u
#define CREATE_NEW 1u
#define CREATE_ALWAYS 2u
#define OPEN_EXISTING 3u
#define FILE_ATTRIBUTE_READONLY 0x1u
#define FILE_ATTRIBUTE_HIDDEN 0x2u
#define FILE_ATTRIBUTE_SYSTEM 0x4u
#define FILE_ATTRIBUTE_DIRECTORY 0x10u
#define FILE_ATTRIBUTE_ARCHIVE 0x20u
#define FILE_ATTRIBUTE_NORMAL 0x80u
#define INVALID_FILE_ATTRIBUTES 0xFFFFFFFFu
#define FILE_ATTRIBUTE_TEMPORARY 0x100u
#define FILE_ATTRIBUTE_REPARSE_POINT 0x400u
#define FILE_FLAG_SEQUENTIAL_SCAN 0x08000000u
#define FILE_FLAG_BACKUP_SEMANTICS 0x02000000u
#define FILE_FLAG_NO_BUFFERING 0x20000000u
#define FILE_FLAG_WRITE_THROUGH 0x80000000u
#define FILE_BEGIN 0u
#define MOVEFILE_REPLACE_EXISTING 0x1u
#define MOVEFILE_WRITE_THROUGH 0x8u
#define STARTF_USESTDHANDLES 0x100u
#define CREATE_NO_WINDOW 0x08000000u
#define CREATE_UNICODE_ENVIRONMENT 0x400u
#define HANDLE_FLAG_INHERIT 0x1u
#define TOKEN_QUERY 0x8u
#define DACL_SECURITY_INFORMATION 0x4u
#define OWNER_SECURITY_INFORMATION 0x1u
#define CLSCTX_LOCAL_SERVER 0x4u
#define COINIT_MULTITHREADED 0x0u
#define SEM_FAILCRITICALERRORS 0x1u
#define MEM_COMMIT 0x1000u
#define MEM_RESERVE 0x2000u
#define MEM_RELEASE 0x8000u
#define PAGE_READWRITE 0x4u

/* Error codes the target names or reacts to. */
#define ERROR_SUCCESS 0u
#define ERROR_FILE_NOT_FOUND 2u
#define ERROR_PATH_NOT_FOUND 3u
#define ERROR_ACCESS_DENIED 5u
#define ERROR_INVALID_HANDLE 6u
#define ERROR_NOT_READY 21u
#define ERROR_SHARING_VIOLATION 32u
#define ERROR_INVALID_PARAMETER 87u
#define ERROR_INSUFFICIENT_BUFFER 122u
#define ERROR_MORE_DATA 234u
#define ERROR_NO_MORE_ITEMS 259u
#define ERROR_NOT_ENOUGH_MEMORY 8u
#define ERROR_NO_MORE_FILES 18u
#define ERROR_FILE_EXISTS 80u
#define ERROR_ALREADY_EXISTS 183u
#define ERROR_ENVVAR_NOT_FOUND 203u
#define ERROR_INVALID_FUNCTION 1u
#define ERROR_NOT_SUPPORTED 50u
#define ERROR_NO_MEDIA_IN_DRIVE 1112u
#define ERROR_PRIVILEGE_NOT_HELD 1314u

/* Control codes (CTL_CODE(device, function, method, access)). */
#define CTL_CODE(d, f, m, a) (((DWORD)(d) << 16) | ((DWORD)(a) << 14) | ((DWORD)(f) << 2) | (DWORD)(m))
#define METHOD_BUFFERED 0
#define FILE_ANY_ACCESS 0
#define FILE_READ_ACCESS 1
#define FILE_WRITE_ACCESS 2
#define IOCTL_DISK_BASE 0x00000007
#define IOCTL_STORAGE_BASE 0x0000002d
#define IOCTL_VOLUME_BASE 0x00000056
#define IOCTL_SCSI_BASE 0x00000004
#define FILE_DEVICE_FILE_SYSTEM 0x00000009

#define IOCTL_DISK_GET_DRIVE_LAYOUT_EX CTL_CODE(IOCTL_DISK_BASE, 0x0014, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_DISK_SET_DRIVE_LAYOUT_EX CTL_CODE(IOCTL_DISK_BASE, 0x0015, METHOD_BUFFERED, FILE_READ_ACCESS | FILE_WRITE_ACCESS)
#define IOCTL_DISK_CREATE_DISK CTL_CODE(IOCTL_DISK_BASE, 0x0016, METHOD_BUFFERED, FILE_READ_ACCESS | FILE_WRITE_ACCESS)
#define IOCTL_DISK_GET_DRIVE_GEOMETRY_EX CTL_CODE(IOCTL_DISK_BASE, 0x0028, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_DISK_UPDATE_PROPERTIES CTL_CODE(IOCTL_DISK_BASE, 0x0050, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_DISK_GET_LENGTH_INFO CTL_CODE(IOCTL_DISK_BASE, 0x0017, METHOD_BUFFERED, FILE_READ_ACCESS)
#define IOCTL_STORAGE_QUERY_PROPERTY CTL_CODE(IOCTL_STORAGE_BASE, 0x0500, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_STORAGE_GET_DEVICE_NUMBER CTL_CODE(IOCTL_STORAGE_BASE, 0x0420, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_VOLUME_GET_VOLUME_DISK_EXTENTS CTL_CODE(IOCTL_VOLUME_BASE, 0, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_SCSI_GET_ADDRESS CTL_CODE(IOCTL_SCSI_BASE, 0x0406, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define FSCTL_LOCK_VOLUME CTL_CODE(FILE_DEVICE_FILE_SYSTEM, 6, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define FSCTL_UNLOCK_VOLUME CTL_CODE(FILE_DEVICE_FILE_SYSTEM, 7, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define FSCTL_DISMOUNT_VOLUME CTL_CODE(FILE_DEVICE_FILE_SYSTEM, 8, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define FSCTL_ALLOW_EXTENDED_DASD_IO CTL_CODE(FILE_DEVICE_FILE_SYSTEM, 32, 3, FILE_ANY_ACCESS)

typedef enum _PARTITION_STYLE {
        PARTITION_STYLE_MBR = 0, PARTITION_STYLE_GPT = 1, PARTITION_STYLE_RAW = 2
} PARTITION_STYLE;

typedef enum _MEDIA_TYPE { Unknown = 0, FixedMedia = 12 } MEDIA_TYPE;

typedef struct _DISK_GEOMETRY {
        LARGE_INTEGER Cylinders;
        MEDIA_TYPE MediaType;
        DWORD TracksPerCylinder;
        DWORD SectorsPerTrack;
        DWORD BytesPerSector;
} DISK_GEOMETRY;

typedef struct _DISK_GEOMETRY_EX {
        DISK_GEOMETRY Geometry;
        LARGE_INTEGER DiskSize;
        BYTE Data[1];           /* DISK_PARTITION_INFO, then DISK_DETECTION_INFO */
} DISK_GEOMETRY_EX;

typedef struct _DISK_PARTITION_INFO {
        DWORD SizeOfPartitionInfo;
        PARTITION_STYLE PartitionStyle;
        union {
                struct { DWORD Signature; DWORD CheckSum; } Mbr;
                struct { GUID DiskId; } Gpt;
        };
} DISK_PARTITION_INFO;

typedef struct _PARTITION_INFORMATION_MBR {
        BYTE PartitionType;
        BOOLEAN BootIndicator;
        BOOLEAN RecognizedPartition;
        DWORD HiddenSectors;
        GUID PartitionId;
} PARTITION_INFORMATION_MBR;

typedef struct _PARTITION_INFORMATION_GPT {
        GUID PartitionType;
        GUID PartitionId;
        DWORD64 Attributes;
        WCHAR Name[36];
} PARTITION_INFORMATION_GPT;

typedef struct _PARTITION_INFORMATION_EX {
        PARTITION_STYLE PartitionStyle;
        LARGE_INTEGER StartingOffset;
        LARGE_INTEGER PartitionLength;
        DWORD PartitionNumber;
        BOOLEAN RewritePartition;
        BOOLEAN IsServicePartition;
        union {
                PARTITION_INFORMATION_MBR Mbr;
                PARTITION_INFORMATION_GPT Gpt;
        };
} PARTITION_INFORMATION_EX;

typedef struct _DRIVE_LAYOUT_INFORMATION_GPT {
        GUID DiskId;
        LARGE_INTEGER StartingUsableOffset;
        LARGE_INTEGER UsableLength;
        DWORD MaxPartitionCount;
} DRIVE_LAYOUT_INFORMATION_GPT;

typedef struct _DRIVE_LAYOUT_INFORMATION_MBR {
        DWORD Signature;
        DWORD CheckSum;
} DRIVE_LAYOUT_INFORMATION_MBR;

typedef struct _DRIVE_LAYOUT_INFORMATION_EX {
        DWORD PartitionStyle;
        DWORD PartitionCount;
        union {
                DRIVE_LAYOUT_INFORMATION_MBR Mbr;
                DRIVE_LAYOUT_INFORMATION_GPT Gpt;
        };
        PARTITION_INFORMATION_EX PartitionEntry[1];
} DRIVE_LAYOUT_INFORMATION_EX;

typedef struct _CREATE_DISK_GPT {
        GUID DiskId;
        DWORD MaxPartitionCount;
} CREATE_DISK_GPT;
typedef struct _CREATE_DISK_MBR { DWORD Signature; } CREATE_DISK_MBR;
typedef struct _CREATE_DISK {
        PARTITION_STYLE PartitionStyle;
        union {
                CREATE_DISK_MBR Mbr;
                CREATE_DISK_GPT Gpt;
        };
} CREATE_DISK;

typedef enum _STORAGE_PROPERTY_ID {
        StorageDeviceProperty = 0, StorageAdapterProperty = 1, StorageDeviceIdProperty = 2,
        StorageAccessAlignmentProperty = 6
} STORAGE_PROPERTY_ID;
typedef enum _STORAGE_QUERY_TYPE { PropertyStandardQuery = 0, PropertyExistsQuery = 1 } STORAGE_QUERY_TYPE;
typedef struct _STORAGE_PROPERTY_QUERY {
        STORAGE_PROPERTY_ID PropertyId;
        STORAGE_QUERY_TYPE QueryType;
        BYTE AdditionalParameters[1];
} STORAGE_PROPERTY_QUERY;

typedef enum _STORAGE_BUS_TYPE {
        BusTypeUnknown = 0, BusTypeScsi, BusTypeAtapi, BusTypeAta, BusType1394, BusTypeSsa,
        BusTypeFibre, BusTypeUsb, BusTypeRAID, BusTypeiScsi, BusTypeSas, BusTypeSata,
        BusTypeSd, BusTypeMmc, BusTypeVirtual, BusTypeFileBackedVirtual, BusTypeSpaces,
        BusTypeNvme, BusTypeSCM, BusTypeUfs,
} STORAGE_BUS_TYPE;

typedef struct _STORAGE_DEVICE_DESCRIPTOR {
        DWORD Version;
        DWORD Size;
        BYTE DeviceType;
        BYTE DeviceTypeModifier;
        BOOLEAN RemovableMedia;
        BOOLEAN CommandQueueing;
        DWORD VendorIdOffset;
        DWORD ProductIdOffset;
        DWORD ProductRevisionOffset;
        DWORD SerialNumberOffset;
        STORAGE_BUS_TYPE BusType;
        DWORD RawPropertiesLength;
        BYTE RawDeviceProperties[1];
} STORAGE_DEVICE_DESCRIPTOR;

typedef struct _STORAGE_ACCESS_ALIGNMENT_DESCRIPTOR {
        DWORD Version;
        DWORD Size;
        DWORD BytesPerCacheLine;
        DWORD BytesOffsetForCacheAlignment;
        DWORD BytesPerLogicalSector;
        DWORD BytesPerPhysicalSector;
        DWORD BytesOffsetForSectorAlignment;
} STORAGE_ACCESS_ALIGNMENT_DESCRIPTOR;

typedef struct _STORAGE_DEVICE_ID_DESCRIPTOR {
        DWORD Version;
        DWORD Size;
        DWORD NumberOfIdentifiers;
        BYTE Identifiers[1];
} STORAGE_DEVICE_ID_DESCRIPTOR;

typedef enum { StorageIdCodeSetBinary = 1, StorageIdCodeSetAscii = 2, StorageIdCodeSetUtf8 = 3 } STORAGE_IDENTIFIER_CODE_SET;
typedef enum {
        StorageIdTypeVendorSpecific = 0, StorageIdTypeVendorId = 1, StorageIdTypeEUI64 = 2,
        StorageIdTypeFCPHName = 3, StorageIdTypeScsiNameString = 8,
} STORAGE_IDENTIFIER_TYPE;
#define StorageIdTypeNAA StorageIdTypeFCPHName
typedef enum { StorageIdAssocDevice = 0, StorageIdAssocPort = 1 } STORAGE_ASSOCIATION_TYPE;
typedef struct _STORAGE_IDENTIFIER {
        STORAGE_IDENTIFIER_CODE_SET CodeSet;
        STORAGE_IDENTIFIER_TYPE Type;
        USHORT IdentifierSize;
        USHORT NextOffset;
        STORAGE_ASSOCIATION_TYPE Association;
        UCHAR Identifier[1];
} STORAGE_IDENTIFIER;

typedef struct _STORAGE_DEVICE_NUMBER {
        DWORD DeviceType;
        DWORD DeviceNumber;
        DWORD PartitionNumber;
} STORAGE_DEVICE_NUMBER;

typedef struct _GET_LENGTH_INFORMATION { LARGE_INTEGER Length; } GET_LENGTH_INFORMATION;

typedef struct _SCSI_ADDRESS {
        ULONG Length;
        UCHAR PortNumber;
        UCHAR PathId;
        UCHAR TargetId;
        UCHAR Lun;
} SCSI_ADDRESS;

typedef struct _DISK_EXTENT {
        DWORD DiskNumber;
        LARGE_INTEGER StartingOffset;
        LARGE_INTEGER ExtentLength;
} DISK_EXTENT;
typedef struct _VOLUME_DISK_EXTENTS {
        DWORD NumberOfDiskExtents;
        DISK_EXTENT Extents[1];
} VOLUME_DISK_EXTENTS;

/* crypt32 (wincrypt.h, wintrust.h): the PKCS#7 signatures of boot programs. */
typedef const char *LPCSTR;
typedef void *HCRYPTMSG, *HCERTSTORE;
typedef ULONG_PTR HCRYPTPROV_LEGACY;
typedef struct _CRYPTOAPI_BLOB {
        DWORD cbData;
        BYTE *pbData;
} CRYPT_INTEGER_BLOB, CERT_NAME_BLOB, CRYPT_OBJID_BLOB, CRYPT_HASH_BLOB, CRYPT_DATA_BLOB,
  *PCERT_NAME_BLOB;
typedef struct _CRYPT_ALGORITHM_IDENTIFIER {
        char *pszObjId;
        CRYPT_OBJID_BLOB Parameters;
} CRYPT_ALGORITHM_IDENTIFIER;
typedef struct _CRYPT_BIT_BLOB {
        DWORD cbData;
        BYTE *pbData;
        DWORD cUnusedBits;
} CRYPT_BIT_BLOB;
typedef struct _CERT_PUBLIC_KEY_INFO {
        CRYPT_ALGORITHM_IDENTIFIER Algorithm;
        CRYPT_BIT_BLOB PublicKey;
} CERT_PUBLIC_KEY_INFO;
typedef struct _CERT_EXTENSION {
        char *pszObjId;
        BOOL fCritical;
        CRYPT_OBJID_BLOB Value;
} CERT_EXTENSION, *PCERT_EXTENSION;
typedef struct _CERT_INFO {
        DWORD dwVersion;
        CRYPT_INTEGER_BLOB SerialNumber;
        CRYPT_ALGORITHM_IDENTIFIER SignatureAlgorithm;
        CERT_NAME_BLOB Issuer;
        FILETIME NotBefore;
        FILETIME NotAfter;
        CERT_NAME_BLOB Subject;
        CERT_PUBLIC_KEY_INFO SubjectPublicKeyInfo;
        CRYPT_BIT_BLOB IssuerUniqueId;
        CRYPT_BIT_BLOB SubjectUniqueId;
        DWORD cExtension;
        PCERT_EXTENSION rgExtension;
} CERT_INFO, *PCERT_INFO;
typedef struct _CERT_CONTEXT {
        DWORD dwCertEncodingType;
        BYTE *pbCertEncoded;
        DWORD cbCertEncoded;
        PCERT_INFO pCertInfo;
        HCERTSTORE hCertStore;
} CERT_CONTEXT;
typedef const CERT_CONTEXT *PCCERT_CONTEXT;
typedef struct _CMSG_STREAM_INFO CMSG_STREAM_INFO, *PCMSG_STREAM_INFO;
typedef struct _CRYPT_DECODE_PARA CRYPT_DECODE_PARA, *PCRYPT_DECODE_PARA;
typedef struct _CRYPT_ATTRIBUTE_TYPE_VALUE {
        char *pszObjId;
        CRYPT_OBJID_BLOB Value;
} CRYPT_ATTRIBUTE_TYPE_VALUE;
typedef struct _SPC_INDIRECT_DATA_CONTENT {
        CRYPT_ATTRIBUTE_TYPE_VALUE Data;
        CRYPT_ALGORITHM_IDENTIFIER DigestAlgorithm;
        CRYPT_HASH_BLOB Digest;
} SPC_INDIRECT_DATA_CONTENT;
#define X509_ASN_ENCODING 0x00000001u
#define PKCS_7_ASN_ENCODING 0x00010000u
#define CMSG_CONTENT_PARAM 2
#define CMSG_SIGNER_CERT_INFO_PARAM 7
#define CMSG_CERT_COUNT_PARAM 11
#define CMSG_CERT_PARAM 12
#define CERT_X500_NAME_STR 3
#define CERT_NAME_STR_CRLF_FLAG 0x08000000u
#define CERT_NAME_STR_NO_QUOTING_FLAG 0x10000000u
#define SPC_INDIRECT_DATA_CONTENT_STRUCT ((LPCSTR)2003)
#define szOID_NIST_sha256 "2.16.840.1.101.3.4.2.1"

#endif /* !_WIN32 */

/* Missing from mingw-w64's winioctl.h (and from our declarations above). */
#ifndef IOCTL_DISK_GET_DISK_ATTRIBUTES
#define IOCTL_DISK_GET_DISK_ATTRIBUTES CTL_CODE(IOCTL_DISK_BASE, 0x003c, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_DISK_SET_DISK_ATTRIBUTES CTL_CODE(IOCTL_DISK_BASE, 0x003d, METHOD_BUFFERED, FILE_READ_ACCESS | FILE_WRITE_ACCESS)
#define DISK_ATTRIBUTE_OFFLINE 0x0000000000000001ULL
#define DISK_ATTRIBUTE_READ_ONLY 0x0000000000000002ULL
typedef struct _GET_DISK_ATTRIBUTES {
        DWORD Version;          /* sizeof(GET_DISK_ATTRIBUTES) */
        DWORD Reserved1;
        DWORDLONG Attributes;
} GET_DISK_ATTRIBUTES;
typedef struct _SET_DISK_ATTRIBUTES {
        DWORD Version;          /* sizeof(SET_DISK_ATTRIBUTES) */
        BOOLEAN Persist;
        BYTE Reserved1[3];
        DWORDLONG Attributes;
        DWORDLONG AttributesMask;
        DWORD Reserved2[4];
} SET_DISK_ATTRIBUTES;
#endif

/* GPT attribute bits (winioctl.h names them GPT_ATTRIBUTE_* / GPT_BASIC_DATA_ATTRIBUTE_*). */
#define MB_GPT_ATTR_PLATFORM_REQUIRED 0x0000000000000001ULL
#define MB_GPT_ATTR_NO_DRIVE_LETTER 0x8000000000000000ULL

#endif
