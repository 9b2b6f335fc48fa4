{#
    The loads of raw that each build covers (audit.build_loads, written by the orchestrator before dbt runs), with
    is_new for the loads the build sees for the first time. Incremental models read only the rows of new loads
    (macro new_load_ids). Empty, with the same columns, in a warehouse the orchestrator has not planned a build in.
#}
with

source as (

    {{ relation_or_empty(source('audit', 'build_loads'), [
        ('build_seq', 'bigint'),
        ('feed', 'varchar'),
        ('load_id', 'varchar'),
        ('is_new', 'boolean'),
    ]) }}

),

renamed as (

    select
        -- ids
        build_seq,
        feed,
        load_id,

        -- booleans
        is_new

    from source

)

select * from renamed
