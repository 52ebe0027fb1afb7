/* SPDX-License-Identifier: MIT */
/*
 * A stand-in boot manager with a version resource: a UEFI application that
 * prints "MBSTATE-BOOT bootmgfw version=..." and powers the machine off.
 * Built at test time by mingw-w64 (x86_64-w64-mingw32-gcc, subsystem 10 =
 * EFI application) with a VERSIONINFO resource compiled by windres, so two
 * builds differ in FileVersion the way two Windows boot managers do.
 * Table layouts from the UEFI specification (EFI_SYSTEM_TABLE,
 * EFI_SIMPLE_TEXT_OUTPUT_PROTOCOL, EFI_RUNTIME_SERVICES).
 */
#include <stdint.h>

typedef uint64_t efi_status;
typedef efi_status (*efi_output_string)(void *self, const uint16_t *s);
typedef void (*efi_reset_system)(int type, efi_status status, uint64_t size, void *data);

struct efi_text_out {
        void *reset;
        efi_output_string output_string;
};

struct efi_runtime_services {
        uint8_t hdr[24];
        void *get_time, *set_time, *get_wakeup_time, *set_wakeup_time;
        void *set_virtual_address_map, *convert_pointer;
        void *get_variable, *get_next_variable_name, *set_variable;
        void *get_next_high_monotonic_count;
        efi_reset_system reset_system;
};

struct efi_system_table {
        uint8_t hdr[24];
        uint16_t *firmware_vendor;
        uint32_t firmware_revision;
        void *console_in_handle, *con_in;
        void *console_out_handle;
        struct efi_text_out *con_out;
        void *standard_error_handle, *std_err;
        struct efi_runtime_services *runtime_services;
};

#ifndef MARKER
#define MARKER u"MBSTATE-BOOT bootmgfw version=unknown\r\n"
#endif

efi_status efi_main(void *image, struct efi_system_table *st)
{
        (void)image;
        st->con_out->output_string(st->con_out, MARKER);
        st->runtime_services->reset_system(2 /* EfiResetShutdown */, 0, 0, 0);
        return 0;
}
