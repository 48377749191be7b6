/** The admin secret every bench server accepts (set as UET_ADMIN_TOKEN). */
export const BENCH_ADMIN_TOKEN = 'bench-admin-secret-0123456789';
