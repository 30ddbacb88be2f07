/* qemu_insn_plugin.c: a QEMU TCG plugin counting guest instructions exactly, per profiling region.
 *
 * Build (host gcc; Debian ships no qemu-plugin.h, so the few API declarations used are
 * written out below, as QEMU 7.2 defines them):  make -C firmware plugin
 *
 * Use:  qemu-system-arm ... -plugin build/tools/qemu_insn_plugin.so,log=FILE[,markfn=ADDR,
 *       markfnsize=N,marks=ADDR]
 *
 * Every guest instruction adds one to a 64-bit counter (an inline add before each
 * instruction: exact, ~45% slower). With markfn/markfnsize/marks (addresses from
 * `nm -S dcfw.elf`: dc_port_profile_mark and dc_mps2_profile_marks) the plugin also watches
 * the stores made by the instructions of dc_port_profile_mark(): a store to
 * marks + R switches the current profiling region to R (0..255). Each switch appends a line
 * to FILE at once (line-buffered, so a running board can be read live):
 *     mark <new_region> <previous_region> <instructions_in_previous_region> <total>
 * and at exit (semihosting exit, SIGTERM, quit):
 *     region <id> <instructions> <entries>     one per region ever entered, ascending id
 *     total <instructions>
 * The file starts with the line "dcagent-insn 1". Counts include the few instructions of
 * dc_port_profile_mark() itself; they are the same on every run of the same code.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- The QEMU 7.2 plugin API subset (include/qemu/qemu-plugin.h) ---- */
#define QEMU_PLUGIN_EXPORT __attribute__((visibility("default")))
typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t; /* used only through a pointer */
struct qemu_plugin_tb;
struct qemu_plugin_insn;
typedef uint32_t qemu_plugin_meminfo_t;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
enum qemu_plugin_mem_rw { QEMU_PLUGIN_MEM_R = 1, QEMU_PLUGIN_MEM_W, QEMU_PLUGIN_MEM_RW };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_mem_cb_t)(unsigned int vcpu_index, qemu_plugin_meminfo_t info,
                                          uint64_t vaddr, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn,
                                                enum qemu_plugin_op op, void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_mem_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_mem_cb_t cb,
                                      enum qemu_plugin_cb_flags flags, enum qemu_plugin_mem_rw rw,
                                      void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
void qemu_plugin_outs(const char *string);

QEMU_PLUGIN_EXPORT int qemu_plugin_version = 1; /* QEMU_PLUGIN_VERSION of QEMU 7.2 */
QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                           int argc, char **argv);

/* ---- State (one vCPU: the mps2 machines have one core) ---- */
#define REGIONS 256u

static uint64_t g_total;           /* instructions executed so far (inline add) */
static uint64_t g_markfn;          /* dc_port_profile_mark, its size, the marks array */
static uint64_t g_markfn_size;
static uint64_t g_marks;
static bool g_profiling;
static unsigned g_current;         /* current region */
static uint64_t g_region_start;    /* g_total when the current region began */
static uint64_t g_insns[REGIONS];  /* instructions per region */
static uint64_t g_entries[REGIONS];
static FILE *g_log;

static void on_mark_store(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr, void *udata)
{
    (void)vcpu;
    (void)info;
    (void)udata;
    if (vaddr < g_marks || vaddr >= g_marks + REGIONS) {
        return; /* another store in the marker function (there is none today) */
    }
    unsigned region = (unsigned)(vaddr - g_marks);
    uint64_t spent = g_total - g_region_start;
    g_insns[g_current] += spent;
    g_entries[region]++;
    fprintf(g_log, "mark %u %u %" PRIu64 " %" PRIu64 "\n", region, g_current, spent, g_total);
    g_current = region;
    g_region_start = g_total;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &g_total, 1);
        uint64_t pc = qemu_plugin_insn_vaddr(insn);
        if (g_profiling && pc >= g_markfn && pc < g_markfn + g_markfn_size) {
            qemu_plugin_register_vcpu_mem_cb(insn, on_mark_store, QEMU_PLUGIN_CB_NO_REGS,
                                             QEMU_PLUGIN_MEM_W, NULL);
        }
    }
}

static void on_plugin_exit(qemu_plugin_id_t id, void *udata)
{
    (void)id;
    (void)udata;
    g_insns[g_current] += g_total - g_region_start;
    g_region_start = g_total;
    for (unsigned r = 0; r < REGIONS; r++) {
        if (g_entries[r] != 0) {
            fprintf(g_log, "region %u %" PRIu64 " %" PRIu64 "\n", r, g_insns[r], g_entries[r]);
        }
    }
    fprintf(g_log, "total %" PRIu64 "\n", g_total);
    fflush(g_log);
    if (g_log != stderr) {
        fclose(g_log);
    }
}

/* Parse "key=value" with a decimal or 0x-hex value; returns false when key does not match. */
static bool parse_u64(const char *arg, const char *key, uint64_t *value, bool *bad)
{
    size_t n = strlen(key);
    if (strncmp(arg, key, n) != 0 || arg[n] != '=') {
        return false;
    }
    char *end = NULL;
    *value = strtoull(arg + n + 1, &end, 0);
    if (end == arg + n + 1 || *end != '\0') {
        *bad = true;
    }
    return true;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                           int argc, char **argv)
{
    (void)info;
    const char *log_path = NULL;
    bool bad = false;
    bool have_fn = false, have_size = false, have_marks = false;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "log=", 4) == 0) {
            log_path = arg + 4;
        } else if (parse_u64(arg, "markfn", &g_markfn, &bad)) {
            have_fn = true;
        } else if (parse_u64(arg, "markfnsize", &g_markfn_size, &bad)) {
            have_size = true;
        } else if (parse_u64(arg, "marks", &g_marks, &bad)) {
            have_marks = true;
        } else {
            bad = true;
        }
    }
    if (bad || (have_fn || have_size || have_marks) != (have_fn && have_size && have_marks)) {
        qemu_plugin_outs("qemu_insn_plugin: usage: log=FILE[,markfn=ADDR,markfnsize=N,marks=ADDR]\n");
        return -1;
    }
    g_profiling = have_fn;
    g_entries[0] = 1; /* region 0 is current from reset */
    g_markfn &= ~(uint64_t)1; /* a Thumb function symbol may carry bit 0 */
    g_log = stderr;
    if (log_path != NULL) {
        g_log = fopen(log_path, "w");
        if (g_log == NULL) {
            qemu_plugin_outs("qemu_insn_plugin: cannot open the log file\n");
            return -1;
        }
    }
    setvbuf(g_log, NULL, _IOLBF, 0);
    fprintf(g_log, "dcagent-insn 1\n");
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, on_plugin_exit, NULL);
    return 0;
}
